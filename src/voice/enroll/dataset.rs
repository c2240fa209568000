//! The training dataset in the LJSpeech layout, exactly as Piper's trainer reads it
//! (`python -m piper_train.preprocess --dataset-format ljspeech --single-speaker`):
//!
//! ```text
//! dataset/
//!   metadata.csv      UTF-8, no BOM, one `id|text` line per utterance, `\n` line ends
//!   wavs/<id>.wav     mono 16-bit PCM WAV at 22 050 Hz
//! ```
//!
//! What Piper's reader does, and what we do about it:
//! - it parses metadata.csv with Python's `csv.reader(delimiter="|")`, default quote char `"`:
//!   a text with `"` would be read as a quoted field and one with `|` as more columns (with
//!   three columns the middle one becomes a speaker name). Text is cleaned of both, and of line
//!   breaks;
//! - it looks for the audio at `<dataset>/<id>`, `<dataset>/<id>.wav`, `<dataset>/wav/<id>`...
//!   (only when `wav/` exists), then `<dataset>/wavs/<id>.wav`: ids are bare (`0001`), nothing
//!   else in `dataset/` is named like an id, and there is no `wav/` folder;
//! - it skips missing and zero-byte audio with a warning: every line has its WAV;
//! - it splits the utterances into `len / (2 × workers)` batches and fails with fewer
//!   utterances than twice the worker count (`--max-workers` lowers that).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::EnrollError;

/// The dataset folder inside the voice folder.
pub const DATASET_DIR: &str = "dataset";
/// metadata.csv.
pub const METADATA: &str = "metadata.csv";
/// The audio folder inside the dataset.
pub const WAVS_DIR: &str = "wavs";

/// Makes a transcript safe for Piper's metadata.csv: one line, no `|`, no `"`, spaces
/// collapsed.
pub fn clean_text(text: &str) -> String {
    let replaced: String = text
        .chars()
        .map(|c| match c {
            '|' | '\r' | '\n' | '\t' => ' ',
            '"' => ' ',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    replaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Writes `dir/dataset/`: `entries` are (id, clip WAV already at 22 050 Hz mono 16-bit, text).
/// The WAVs are hard-linked (copied when linking fails). Returns the dataset folder.
pub(crate) fn write(
    dir: &Path,
    entries: &[(String, PathBuf, String)],
) -> Result<PathBuf, EnrollError> {
    let root = dir.join(DATASET_DIR);
    let wavs = root.join(WAVS_DIR);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| EnrollError::Io { path, source }
    };
    std::fs::create_dir_all(&wavs).map_err(io(&wavs))?;
    let meta_path = root.join(METADATA);
    let file = std::fs::File::create(&meta_path).map_err(io(&meta_path))?;
    let mut meta = std::io::BufWriter::new(file);
    for (id, clip, text) in entries {
        let text = clean_text(text);
        if text.is_empty() {
            continue;
        }
        let target = wavs.join(format!("{id}.wav"));
        if std::fs::hard_link(clip, &target).is_err() {
            std::fs::copy(clip, &target).map_err(io(&target))?;
        }
        writeln!(meta, "{id}|{text}").map_err(io(&meta_path))?;
    }
    meta.flush().map_err(io(&meta_path))?;
    Ok(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_one_clean_line() {
        assert_eq!(clean_text("  \"Hi\" | there\nyou \t"), "Hi there you");
        assert_eq!(clean_text("你好，世界。"), "你好，世界。");
        assert_eq!(clean_text(" \n "), "");
    }
}
