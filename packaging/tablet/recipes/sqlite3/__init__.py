"""SQLite for the tablet's APK, built with FTS5: the catalogue search index needs it.

python-for-android's own sqlite3 recipe runs SQLite's `configure` without `--enable-fts5`, so
its library may lack FTS5 and `build_index` would refuse on the tablet. This local recipe
(`p4a.local_recipes` in buildozer.spec) replaces it: the same source, FTS5 switched on both ways
(the configure option adds fts5.c, the define keeps it on whatever the configure's defaults).
"""

from multiprocessing import cpu_count

import sh
from pythonforandroid.logger import shprint
from pythonforandroid.recipe import Recipe
from pythonforandroid.util import current_directory

FTS5_CONFIGURE = "--enable-fts5"
FTS5_DEFINE = "-DSQLITE_ENABLE_FTS5"


class Sqlite3WithFts5Recipe(Recipe):
    version = "3.50.4"
    url = "https://github.com/sqlite/sqlite/archive/refs/tags/version-{version}.tar.gz"
    built_libraries = {"libsqlite3.so": "."}  # noqa: RUF012 - read by python-for-android

    def get_recipe_env(self, arch=None, with_flags_in_cc=True):
        env = super().get_recipe_env(arch, with_flags_in_cc)
        env["CFLAGS"] = f"{env.get('CFLAGS', '')} {FTS5_DEFINE}".strip()
        return env

    def build_arch(self, arch):
        env = self.get_recipe_env(arch)
        build_dir = self.get_build_dir(arch.arch)
        with current_directory(build_dir):
            configure = sh.Command("./configure")
            shprint(
                configure,
                f"--host={arch.command_prefix}",
                f"--prefix={build_dir}",
                "--disable-tcl",
                FTS5_CONFIGURE,
                _env=env,
            )
            shprint(sh.make, "-j", str(cpu_count()), _env=env)


recipe = Sqlite3WithFts5Recipe()
