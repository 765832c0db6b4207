"""`python -m drivers`: read devices, decode captured bytes, run simulators."""

import sys

from drivers.cli import main

sys.exit(main())
