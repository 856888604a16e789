//! Which files a run sends, under which names, and where a received name may be written: names
//! are relative paths with `/` separators; a received one that would leave the output
//! directory is refused.

use crate::exit::Failure;
use std::path::{Path, PathBuf};

/// A file to send.
pub struct Outgoing {
    pub path: PathBuf,
    /// Its name for the receiver: its path under the directory given, or its file name.
    pub name: String,
    pub size: u64,
}

/// The files `paths` name; directories (with all they hold, sorted) only if `recursive`.
pub fn collect(paths: &[PathBuf], recursive: bool) -> Result<Vec<Outgoing>, Failure> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|e| Failure::File(format!("{}: {e}", path.display())))?;
        let base = path.file_name().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("files"));
        if metadata.is_dir() {
            if !recursive {
                return Err(Failure::File(format!("{} is a directory (send it with -r)", path.display())));
            }
            walk(path, &base, &mut files)?;
        } else {
            files.push(Outgoing { path: path.clone(), name: slashed(&base), size: metadata.len() });
        }
    }
    Ok(files)
}

fn walk(dir: &Path, name: &Path, files: &mut Vec<Outgoing>) -> Result<(), Failure> {
    let unreadable = |e: std::io::Error| Failure::File(format!("{}: {e}", dir.display()));
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).map_err(unreadable)?.collect::<Result<_, _>>().map_err(unreadable)?;
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let (path, name) = (entry.path(), name.join(entry.file_name()));
        let metadata = entry.metadata().map_err(unreadable)?;
        if metadata.is_dir() {
            walk(&path, &name, files)?;
        } else if metadata.is_file() {
            files.push(Outgoing { path, name: slashed(&name), size: metadata.len() });
        }
    }
    Ok(())
}

fn slashed(path: &Path) -> String {
    path.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Where a received file named `name` goes under `dir`: only a name of `/`-separated plain
/// segments (none empty, `.` or `..`; no backslash, colon or NUL, so no drive or absolute path).
pub fn destination(dir: &Path, name: &str) -> Option<PathBuf> {
    let plain = |segment: &str| !matches!(segment, "" | "." | "..") && !segment.contains(['\\', ':', '\0']);
    name.split('/').all(plain).then(|| name.split('/').fold(dir.to_path_buf(), |path, segment| path.join(segment)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_names_stay_inside_the_output_directory() {
        let dir = Path::new("out");
        assert_eq!(destination(dir, "a/b.txt"), Some(PathBuf::from("out/a/b.txt")));
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a\\..\\x", "./a", "a//b/.", "C:\\x"] {
            assert_eq!(destination(dir, bad), None, "{bad:?}");
        }
    }
}
