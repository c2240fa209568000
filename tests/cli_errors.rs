//! Bad input on the command line: each case gets one clear `error:` line saying what is wrong
//! and what to do, a non-zero exit code, and no panic or backtrace.

mod common;

use std::process::Output;

use common::*;

/// Exactly one `error:` line, containing every `needle`; no panic.
fn assert_clear_error(o: &Output, needles: &[&str]) {
    let err = stderr(o);
    assert!(
        !o.status.success(),
        "exit code must be non-zero; stderr:\n{err}"
    );
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "no panic:\n{err}"
    );
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "one error line:\n{err}");
    for n in needles {
        assert!(
            lines[0].contains(n),
            "`{n}` in the error line: {}",
            lines[0]
        );
    }
}

#[test]
fn missing_script() {
    let o = run(anchor().args(["render", "no/such/show.yaml", "-o", "/tmp/anchor-never.mp4"]));
    assert_clear_error(&o, &["no/such/show.yaml"]);
}

#[test]
fn broken_yaml_names_file_line_col() {
    let o = run(anchor().args(["run", "tests/fixtures/scripts/syntax-error.yaml"]));
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(err.contains("syntax-error.yaml:"), "{err}");
    // `path:line:col: error: ...`
    let located = err.lines().any(|l| {
        let Some(rest) = l.split("syntax-error.yaml:").nth(1) else {
            return false;
        };
        let mut parts = rest.split(':');
        parts.next().is_some_and(|n| n.parse::<u32>().is_ok())
            && parts.next().is_some_and(|n| n.parse::<u32>().is_ok())
    });
    assert!(located, "file:line:col in:\n{err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn unknown_gesture_suggests_the_closest() {
    let o = run(anchor().args([
        "render",
        "tests/fixtures/scripts/unknown-gesture.yaml",
        "-o",
        "/tmp/anchor-never.mp4",
    ]));
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(err.contains("did you mean"), "{err}");
    assert!(err.contains("unknown-gesture.yaml:"), "{err}");
}

#[test]
fn check_accepts_the_samples_and_rejects_broken_scripts() {
    for s in [
        "scripts/demo.yaml",
        "scripts/demo-en.yaml",
        "tests/fixtures/shows/short-zh.yaml",
    ] {
        let o = run(anchor().args(["check", s]));
        assert!(o.status.success(), "{s}: {}", stderr(&o));
    }
    let o = run(anchor().args([
        "check",
        "--format",
        "json",
        "tests/fixtures/scripts/unknown-key.yaml",
    ]));
    assert!(!o.status.success());
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).expect("JSON output");
    assert_eq!(v["ok"], false);
    assert!(!v["problems"].as_array().unwrap().is_empty());
}

/// A show whose avatar folder has a manifest pointing at a model file that is not there.
#[test]
fn missing_avatar_model() {
    let dir = common::tempdir().unwrap();
    let avatar = dir.path().join("avatar");
    std::fs::create_dir_all(&avatar).unwrap();
    let manifest = std::fs::read_to_string(repo("avatars/default/avatar.yaml")).unwrap();
    let manifest: String = manifest
        .lines()
        .map(|l| {
            if l.starts_with("model:") {
                "model: missing.glb".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(avatar.join("avatar.yaml"), manifest).unwrap();
    let script = std::fs::read_to_string(repo("tests/fixtures/shows/short-zh.yaml")).unwrap();
    let script = script.replace(
        "  language: zh-CN",
        &format!("  language: zh-CN\n  avatar: {}", avatar.display()),
    );
    let path = dir.path().join("show.yaml");
    std::fs::write(&path, script).unwrap();
    let o = run(anchor()
        .arg("render")
        .arg(&path)
        .arg("-o")
        .arg(dir.path().join("x.mp4")));
    assert_clear_error(&o, &["missing.glb"]);
}

#[test]
fn missing_ffmpeg() {
    let dir = common::tempdir().unwrap();
    let o = run(anchor()
        .args(["render", "tests/fixtures/shows/short-zh.yaml", "-o"])
        .arg(dir.path().join("x.mp4"))
        .env("PATH", dir.path()));
    assert_clear_error(&o, &["ffmpeg", "apt-get install ffmpeg"]);
}

#[test]
fn missing_vulkan() {
    let o = run(anchor()
        .args([
            "render",
            "tests/fixtures/shows/short-zh.yaml",
            "-o",
            "/tmp/anchor-never.mp4",
        ])
        .env("VK_ICD_FILENAMES", "/nonexistent/lvp_icd.json"));
    assert_clear_error(&o, &["Vulkan", "mesa-vulkan-drivers"]);
}

#[test]
fn onnx_runtime_found_without_env_and_bad_override_is_explained() {
    // Found by itself (scripts/setup.sh put it in models/): no environment variable needed.
    let o = run(anchor().arg("doctor").env_remove("ORT_DYLIB_PATH"));
    let out = stdout(&o);
    assert!(
        out.lines()
            .any(|l| l.starts_with("ok") && l.contains("onnxruntime")),
        "{out}\n{}",
        stderr(&o)
    );
    // A wrong override: a clear line, exit code 1, no panic.
    let o = run(anchor()
        .arg("doctor")
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so"));
    let out = stdout(&o);
    assert!(!o.status.success());
    assert!(
        out.contains("ONNX Runtime library not found at /nonexistent/libonnxruntime.so")
            && out.contains("scripts/setup.sh"),
        "{out}"
    );
    assert!(!stderr(&o).contains("panicked"));
}
