//! Where the project's files live at run time: avatars, models (what scripts/setup.sh fetched),
//! sample scripts. Found without environment variables; `ANCHOR_HOME` overrides.

use std::path::{Path, PathBuf};

/// The folder holding `avatars/`, `models/` and `scripts/`: `ANCHOR_HOME` if set, else the
/// nearest ancestor of the executable or of the working directory that has
/// `avatars/default/avatar.yaml`, else the source tree the binary was built from.
pub fn home() -> PathBuf {
    if let Some(h) = std::env::var_os("ANCHOR_HOME") {
        return PathBuf::from(h);
    }
    let marker = Path::new("avatars/default/avatar.yaml");
    let starts = [std::env::current_exe().ok(), std::env::current_dir().ok()];
    for start in starts.into_iter().flatten() {
        if let Some(found) = start.ancestors().find(|d| d.join(marker).is_file()) {
            return found.to_path_buf();
        }
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Resolves a path named in a script (`show.avatar`): absolute as is; else relative to the
/// script's folder, the working directory, or [`home`], whichever has it.
pub fn resolve(named: &str, script_dir: &Path) -> PathBuf {
    let p = Path::new(named);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let candidates = [script_dir.join(p), p.to_path_buf(), home().join(p)];
    candidates
        .iter()
        .find(|c| c.exists())
        .cloned()
        .unwrap_or_else(|| home().join(p))
}
