//! Runs the Python package's tests (`mf-py/tests/*.py`, pytest) against the extension module this build made.
//!
//! `cargo test` builds `lib_native.so` (the crate is an rlib too, so that this test depends on it) with the same
//! features as the rest of the workspace, so the tests need no second build: the package is assembled in a temporary directory from `python/memristive` and that library,
//! and pytest runs with it first on `PYTHONPATH`. The interpreter is `$MF_PYTHON` (`.ci/run` makes a virtual
//! environment with numpy, scikit-learn, pyarrow, pandas and pytest), else `python3`. Without pytest and
//! scikit-learn the test says so and passes, except under CI (`CI` set) or with `MF_REQUIRE_PYTHON=1`, where it
//! fails. The `mf` binary of the same build (`target/<profile>/mf`) is given as `$MF_BIN` for the tests that
//! compare the package with the command line.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<profile>`: the directory of this test's executable's parent (`deps/`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>")
        .to_path_buf()
}

fn required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var("MF_REQUIRE_PYTHON").is_ok_and(|v| v == "1")
}

fn python() -> String {
    std::env::var("MF_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Copies `from` into `to` recursively, leaving out compiled files and earlier extension modules.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "__pycache__" || name.ends_with(".so") || name.ends_with(".pyc") {
            continue;
        }
        if path.is_dir() {
            copy_tree(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

#[test]
fn the_python_package_passes_its_tests() {
    let py = python();
    let probe = Command::new(&py)
        .args([
            "-c",
            "import sysconfig, numpy, sklearn, pytest; print(sysconfig.get_config_var('EXT_SUFFIX'))",
        ])
        .output();
    let suffix = match probe {
        Ok(out) if out.status.success() => {
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        }
        other => {
            let why = match other {
                Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            assert!(
                !required(),
                "{py} cannot import numpy, scikit-learn and pytest ({why}); .ci/run makes a virtual environment \
                 with them and sets MF_PYTHON"
            );
            eprintln!("SKIPPED: the Python tests need numpy, scikit-learn and pytest in {py} (or MF_PYTHON): {why}");
            return;
        }
    };
    let profile = profile_dir();
    // Built beside this test as a dependency (the crate is also an rlib for that), into deps/; a build of the
    // crate alone (`cargo build -p mf-py`) puts it in the profile's directory.
    let lib = [
        profile.join("deps/lib_native.so"),
        profile.join("lib_native.so"),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .expect("cargo test builds lib_native.so beside this test");
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let site = tempfile::tempdir().unwrap();
    let package = site.path().join("memristive");
    copy_tree(&crate_dir.join("python/memristive"), &package);
    std::fs::copy(&lib, package.join(format!("_native{suffix}"))).unwrap();
    let mf = profile.join("mf");
    let status = Command::new(&py)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"])
        .arg(crate_dir.join("tests"))
        .env("PYTHONPATH", site.path())
        .env("MF_BIN", &mf)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .status()
        .expect("run pytest");
    assert!(
        status.success(),
        "the Python tests failed (pytest's report is above)"
    );
}
