//! Embeds the vendored hls.js player (`vendor/hls.js/hls.min.js`, fetched from npm by
//! scripts/setup.sh) into the preview page of the HTTP server. When it is absent the build
//! goes on with an empty stand-in: the page then uses the browser's native HLS playback and the
//! server logs that hls.js was not built in.
//!
//! `ANCHOR_HLSJS=/path/to/hls.min.js` picks another copy.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=ANCHOR_HLSJS");
    // The folder is committed (with its README), so watching it never reruns this script
    // needlessly; cargo scans it recursively, so adding hls.js later triggers a rebuild.
    println!("cargo:rerun-if-changed=vendor");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let source = std::env::var_os("ANCHOR_HLSJS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("vendor/hls.js/hls.min.js"));
    if let Some(path) = std::env::var_os("ANCHOR_HLSJS") {
        println!("cargo:rerun-if-changed={}", PathBuf::from(path).display());
    }
    let js = match std::fs::read(&source) {
        Ok(js) if !js.is_empty() => js,
        _ => {
            println!(
                "cargo:warning=hls.js not found at {}: the preview page falls back to native HLS playback; run scripts/setup.sh (it fetches hls.js from npm) and rebuild",
                source.display()
            );
            Vec::new()
        }
    };
    std::fs::write(out.join("hls.min.js"), js).expect("OUT_DIR is writable");
}
