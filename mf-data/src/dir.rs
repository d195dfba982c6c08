//! Where data sets live on disk.

use std::path::{Path, PathBuf};

/// Environment variable naming the data directory.
pub const DATA_DIR_ENV: &str = "MF_DATA_DIR";

/// The data directory: `flag` when given, else `$MF_DATA_DIR` when set and non-empty, else the
/// user cache directory's `memristive/datasets` (e.g. `~/.cache/memristive/datasets`), else
/// `./datasets` when the system has no cache directory.
///
/// Data sets are laid out as `<dir>/<Name>/<Name>_TRAIN.<ext>` and `<Name>_TEST.<ext>`.
pub fn resolve_data_dir(flag: Option<&Path>) -> PathBuf {
    resolve_with(
        flag,
        std::env::var_os(DATA_DIR_ENV).map(PathBuf::from),
        dirs::cache_dir(),
    )
}

fn resolve_with(flag: Option<&Path>, env: Option<PathBuf>, cache: Option<PathBuf>) -> PathBuf {
    if let Some(f) = flag {
        return f.to_path_buf();
    }
    if let Some(e) = env.filter(|e| !e.as_os_str().is_empty()) {
        return e;
    }
    match cache {
        Some(c) => c.join("memristive").join("datasets"),
        None => PathBuf::from("datasets"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_over_the_environment_which_wins_over_the_cache() {
        let f = PathBuf::from("/flag");
        let e = Some(PathBuf::from("/env"));
        let c = Some(PathBuf::from("/cache"));
        assert_eq!(resolve_with(Some(&f), e.clone(), c.clone()), f);
        assert_eq!(resolve_with(None, e, c.clone()), PathBuf::from("/env"));
        assert_eq!(
            resolve_with(None, Some(PathBuf::new()), c.clone()),
            PathBuf::from("/cache/memristive/datasets")
        );
        assert_eq!(
            resolve_with(None, None, c),
            PathBuf::from("/cache/memristive/datasets")
        );
        assert_eq!(resolve_with(None, None, None), PathBuf::from("datasets"));
    }
}
