"""Device simulators shipped with the drivers package."""
