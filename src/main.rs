//! The `anchor` command line: run a show live, render it to a file, check a script, speak a
//! line, generate the default avatar, benchmark.

mod voice_cli;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use anchor::avatar::AvatarManifest;
use anchor::brain::{Brain, BrainConfig, ShowContext};
use anchor::chat::moderation::{Incoming, Moderator};
use anchor::chat::{Inbox, Replay};
use anchor::events::Events;
use anchor::script::{CheckReport, Script, ScriptError};
use anchor::server::{
    AppState, Auth, CHAT_TOKEN_ENV, CONTROL_TOKEN_ENV, Preview, Server, ServerConfig,
};
use anchor::show::{self, ChatOptions, HostOptions, Mode, ShowClock, ShowOptions, ShowReport};
use anchor::stream::Outputs;
use anchor::voice::{self, DefaultVoice, Emphasis, Language, Utterance};

#[derive(Parser)]
#[command(
    name = "anchor",
    version,
    about = "Virtual anchor (数字人主播) runtime: a product script becomes a live stream with a speaking 3D host"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Go on air: play the script live (paced to the wall clock) as HLS under OUT/live and an MP4 recording under OUT/recordings.
    Run {
        script: PathBuf,
        /// Output folder.
        #[arg(long, default_value = "out")]
        out: PathBuf,
        /// Stop after this many seconds (default: when the rundown ends, or never if it loops).
        #[arg(long)]
        seconds: Option<f64>,
        /// The room config file: push outputs, host input, HTTP address and tokens (see the
        /// README). Flags add to (`--push`) or override it.
        #[arg(long, value_name = "FILE")]
        room: Option<PathBuf>,
        /// The local HTTP server (preview page at /, events at /api/events): HOST:PORT, or
        /// `off` [default: 127.0.0.1:8686]. Any address other than loopback needs both tokens.
        #[arg(long)]
        http: Option<String>,
        /// Bearer token of the control endpoints (/api/host, /api/product, /api/pause,
        /// /api/resume, /api/say); default: $ANCHOR_CONTROL_TOKEN. Optional on 127.0.0.1.
        #[arg(long, value_name = "TOKEN")]
        control_token: Option<String>,
        /// Bearer token of chat ingest (/api/chat, /api/chat/ws); default: $ANCHOR_CHAT_TOKEN.
        /// Optional on 127.0.0.1. The preview page takes it as /?token=TOKEN.
        #[arg(long, value_name = "TOKEN")]
        chat_token: Option<String>,
        /// Do not reload the script when it is edited.
        #[arg(long)]
        no_watch: bool,
        /// What an accepted edit does: continue where the show is (never replaying what was
        /// said in this pass of the loop), or restart the rundown from the top.
        #[arg(long, value_enum, default_value_t = OnEdit::Continue)]
        on_edit: OnEdit,
        /// Also write the per-frame lip-sync track (with every spoken sentence) here.
        #[arg(long)]
        lipsync: Option<PathBuf>,
        /// The human host's feed: an rtmp:// or srt:// URL on a local address that the host
        /// pushes to (e.g. rtmp://127.0.0.1:1936/live/host), or a URL to pull. While the host
        /// is live their feed goes out; the avatar covers when it drops.
        #[arg(long)]
        host_input: Option<String>,
        /// Seconds the host may be gone before the avatar takes over the show [default: 5].
        #[arg(long)]
        host_grace: Option<f64>,
        /// Also push the stream here (repeatable): rtmp://host/app/key, rtmps://..., or
        /// srt://host:port?streamid=... Encoded once; each push is retried on its own (1 s to
        /// 30 s backoff) without stopping the others or the recording. Keys never appear in logs.
        #[arg(long = "push", value_name = "URL")]
        push: Vec<String>,
        #[command(flatten)]
        chat: ChatArgs,
        #[command(flatten)]
        video: VideoArgs,
    },
    /// Render the show to an MP4 file as fast as the machine allows (same pipeline as `run`).
    Render {
        script: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
        /// Media seconds to render (default: one pass through the rundown).
        #[arg(long)]
        seconds: Option<f64>,
        /// Where to write the per-frame lip-sync track (default: OUTPUT with .lipsync.json).
        #[arg(long)]
        lipsync: Option<PathBuf>,
        /// Write a JSON report (timings, realtime factors, peak memory) here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Reload the script when it is edited during the render.
        #[arg(long)]
        watch: bool,
        #[command(flatten)]
        chat: ChatArgs,
        #[command(flatten)]
        video: VideoArgs,
    },
    /// Answer viewer questions from a script without rendering (one JSON object per line with
    /// --json; `-` reads one question per line from stdin).
    Ask {
        #[arg(long)]
        script: PathBuf,
        /// The product on air (default: none).
        #[arg(long)]
        product: Option<String>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        chat: ChatArgs,
        /// The question, or `-` for stdin.
        question: String,
    },
    /// Print the JSON Schema of the show script format (for editor autocompletion).
    Schema {
        /// The schema of an included product catalogue instead.
        #[arg(long)]
        catalogue: bool,
    },
    /// Check a script: every problem with file:line:col (errors and warnings, with rule names);
    /// exit code 1 if there are errors.
    Check {
        script: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Speak a line into a WAV file, with the default voice or an enrolled one.
    Say {
        text: String,
        #[arg(short, long)]
        output: PathBuf,
        /// zh-CN or en-US (default: guessed from the text).
        #[arg(long)]
        lang: Option<String>,
        /// Livelier delivery.
        #[arg(long)]
        strong: bool,
        /// An enrolled voice (name under the voices folder, or a voice folder); prints its
        /// GE2E similarity to the enrolled speaker.
        #[arg(long, default_value = "default")]
        voice: String,
        /// Where voices live (default: voices/).
        #[arg(long)]
        voices_dir: Option<PathBuf>,
    },
    /// Merchant voices: enroll a recording, report how close the host sounds.
    Voice {
        #[command(subcommand)]
        cmd: voice_cli::VoiceCmd,
    },
    /// Write the default avatar (avatar.glb + avatar.yaml) into a folder.
    Avatar {
        #[arg(long, default_value = "avatars/default")]
        out: PathBuf,
    },
    /// Check that everything anchor needs is installed, and say what to do about what is not.
    Doctor,
    /// Benchmarks. render: realtime factors of render+encode (640x360 and 960x540→1280x720) and
    /// TTS. script: load + validate time of a generated catalogue. reload: reload-to-effect
    /// latency in media time. chat: reply latency in media time, accuracy. voice: enrollment
    /// of `--seconds` of speech (e.g. 1800), synthesis speed per engine, GE2E similarity.
    Bench {
        #[arg(value_enum, default_value_t = Suite::Render)]
        suite: Suite,
        #[arg(long, default_value = "scripts/demo.yaml")]
        script: PathBuf,
        /// Products in the generated catalogue (suite `script`).
        #[arg(long, default_value_t = 1000)]
        products: usize,
        /// Media seconds per configuration.
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
        /// Also measure 1920x1080 (for GPU machines).
        #[arg(long)]
        hd: bool,
        #[arg(long, default_value = "out/bench")]
        out: PathBuf,
    },
    /// Overnight test: a show in render mode for `--hours` of media, with scripted chat, chat
    /// floods and a bad script edit, sampling RSS, file descriptors, threads and A/V drift;
    /// writes OUT/soak.md, soak.json and a plot soak.png.
    Soak {
        #[arg(default_value = "scripts/demo.yaml")]
        script: PathBuf,
        /// Media hours to run.
        #[arg(long, default_value_t = 8.0)]
        hours: f64,
        /// Media seconds per wall second; 0: as fast as the machine goes.
        #[arg(long, default_value_t = 0.0)]
        speed: f64,
        #[arg(long, default_value = "out/soak")]
        out: PathBuf,
        /// Do not push to a private RTMP server (nginx) that is killed and restarted mid-soak.
        #[arg(long)]
        no_push_fault: bool,
        /// Do not flap the human host's feed (a real ffmpeg push into the show's host input,
        /// pushed at --speed; without --speed there is no flapping).
        #[arg(long)]
        no_host_flap: bool,
        #[command(flatten)]
        video: VideoArgs,
    },
}

#[derive(Args, Clone)]
struct VideoArgs {
    /// cpu: render 960x540, stream 1280x720. gpu: render and stream 1920x1080.
    #[arg(long, value_enum, default_value_t = Preset::Cpu)]
    preset: Preset,
    /// Render width (overrides the preset).
    #[arg(long)]
    width: Option<u32>,
    #[arg(long)]
    height: Option<u32>,
    /// Encoded width (overrides the preset).
    #[arg(long)]
    out_width: Option<u32>,
    #[arg(long)]
    out_height: Option<u32>,
    #[arg(long, default_value_t = show::DEFAULT_FPS)]
    fps: u32,
    /// Seed for blinks and idle motion.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Wall-clock time of the show's start for `schedule` windows (RFC 3339, e.g.
    /// 2026-11-21T22:59:00+08:00); default: now. Lets a render simulate a night.
    #[arg(long)]
    clock_start: Option<String>,
}

#[derive(Args, Clone)]
struct ChatArgs {
    /// Answer no chat.
    #[arg(long)]
    no_chat: bool,
    /// Also read chat from stdin, one message per line (`user: text` or `text`).
    #[arg(long)]
    chat_stdin: bool,
    /// Replay chat from a JSON-lines file ({"at": media seconds, "user", "name", "text"}).
    #[arg(long)]
    chat_replay: Option<PathBuf>,
    /// Sentence-embedding model folder (BERT family: config.json, model.safetensors,
    /// tokenizer.json); default: models/all-minilm-l6-v2 when present.
    #[arg(long)]
    embedder: Option<PathBuf>,
    /// Optional local LLM (Qwen2-family GGUF) that rephrases answers in the persona's voice.
    #[arg(long, requires = "llm_tokenizer")]
    llm_model: Option<PathBuf>,
    /// The LLM's tokenizer.json.
    #[arg(long, requires = "llm_model")]
    llm_tokenizer: Option<PathBuf>,
}

impl ChatArgs {
    fn brain(&self) -> BrainConfig {
        BrainConfig {
            embedder: self.embedder.clone(),
            llm: self
                .llm_model
                .clone()
                .zip(self.llm_tokenizer.clone())
                .map(|(m, t)| anchor::brain::llm::LlmConfig::new(m, t)),
            ..BrainConfig::default()
        }
    }

    /// The chat setup for a show; `inbox` is where live sources write.
    fn options(&self, inbox: Option<Inbox>) -> Result<Option<ChatOptions>> {
        if self.no_chat {
            return Ok(None);
        }
        let replay = match &self.chat_replay {
            Some(p) => Some(
                Replay::load(p)
                    .with_context(|| format!("cannot read chat replay {}", p.display()))?,
            ),
            None => None,
        };
        if self.chat_stdin
            && let Some(inbox) = &inbox
        {
            anchor::chat::spawn_stdin(inbox.clone())?;
        }
        Ok(Some(ChatOptions {
            inbox,
            replay,
            brain: self.brain(),
        }))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OnEdit {
    Continue,
    Restart,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Suite {
    Render,
    Script,
    Reload,
    Chat,
    Voice,
}

#[derive(Clone, Copy, ValueEnum)]
enum Preset {
    Cpu,
    Gpu,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

impl VideoArgs {
    fn sizes(&self) -> (u32, u32, u32, u32) {
        let (w, h, ow, oh) = match self.preset {
            Preset::Cpu => (960, 540, show::DEFAULT_OUT_WIDTH, show::DEFAULT_OUT_HEIGHT),
            Preset::Gpu => (1920, 1080, 1920, 1080),
        };
        (
            self.width.unwrap_or(w),
            self.height.unwrap_or(h),
            self.out_width.unwrap_or(ow),
            self.out_height.unwrap_or(oh),
        )
    }
}

fn main() -> ExitCode {
    ensure_runtime_dir();
    let filter = tracing_subscriber::EnvFilter::try_from_env("ANCHOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,wgpu=error,wgpu_hal=error,naga=warn,bevy_render=warn,bevy_app=warn,bevy_winit=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            match e.downcast_ref::<ScriptError>() {
                // Already one `file:line:col: error: ...` line per problem.
                Some(se @ (ScriptError::Syntax(_) | ScriptError::Invalid(_))) => eprintln!("{se}"),
                _ => eprintln!("error: {}", error_line(&e)),
            }
            ExitCode::FAILURE
        }
    }
}

/// Mesa's Vulkan loader prints "error: XDG_RUNTIME_DIR is invalid" on servers and CI where it
/// is unset; give it a private one.
fn ensure_runtime_dir() {
    let valid = std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| Path::new(&d).is_dir());
    if !valid {
        // SAFETY: called first thing in main, before any thread exists.
        let dir =
            std::env::temp_dir().join(format!("anchor-runtime-{}", unsafe { libc::getuid() }));
        if std::fs::create_dir_all(&dir).is_ok() {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
            // SAFETY: single-threaded at this point (see above).
            unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
        }
    }
}

/// The whole cause chain on one line.
fn error_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

fn real_main() -> Result<ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            script,
            out,
            seconds,
            http,
            room,
            control_token,
            chat_token,
            no_watch,
            on_edit,
            lipsync,
            host_input,
            host_grace,
            push,
            chat,
            video,
        } => {
            let room = match &room {
                Some(path) => anchor::room::Room::load(path)?,
                None => anchor::room::Room::default(),
            };
            let room_http = room.http.clone().unwrap_or_default();
            let http = http
                .or(room_http.bind)
                .unwrap_or_else(|| "127.0.0.1:8686".to_owned());
            let host_input = host_input.or_else(|| room.host.as_ref().map(|h| h.input.clone()));
            let host_grace = host_grace
                .or_else(|| room.host.as_ref().and_then(|h| h.grace))
                .unwrap_or(anchor::host::DEFAULT_GRACE.as_secs_f64());
            let (control_tx, control_rx) = crossbeam_channel::unbounded();
            let host = match host_input {
                Some(url) => {
                    if !(host_grace.is_finite() && host_grace >= 0.0) {
                        bail!("invalid --host-grace {host_grace}: give seconds, e.g. 5");
                    }
                    Some(HostOptions {
                        source: anchor::host::HostSource::parse(&url)?,
                        grace: std::time::Duration::from_secs_f64(host_grace),
                        control: anchor::host::HostControl::new(),
                    })
                }
                None => None,
            };
            let pushes = push
                .iter()
                .chain(&room.push)
                .map(|u| anchor::stream::PushUrl::parse(u))
                .collect::<Result<Vec<_>, _>>()?;
            let outputs = Outputs::Live {
                hls_dir: out.join("live"),
                recording: out.join("recordings").join(format!("{}.mp4", timestamp())),
                pushes,
            };
            let events = Events::new();
            let inbox = (!chat.no_chat).then(Inbox::new);
            let mut product_ids = None;
            let server = match ServerConfig::from_flag(&http)? {
                Some(cfg) => {
                    let mut state = AppState::new(events.clone());
                    state.chat = inbox.clone();
                    // Flag, then environment, then the room file.
                    state.auth = Auth::from_sources(
                        control_token,
                        std::env::var(CONTROL_TOKEN_ENV)
                            .ok()
                            .or(room_http.control_token),
                        chat_token,
                        std::env::var(CHAT_TOKEN_ENV).ok().or(room_http.chat_token),
                    )?;
                    state.control = Some(control_tx);
                    // The script is read again by the show (which reports its errors); here
                    // only its AI label and, when it cannot change, its product ids.
                    let parsed = Script::load(&script).ok();
                    state.preview = Preview {
                        hls_dir: Some(out.join("live")),
                        ai_label: parsed
                            .as_ref()
                            .map(|s| s.show.disclosure.clone())
                            .unwrap_or_default(),
                    };
                    // Replaced by the show with every accepted edit.
                    if let Some(s) = &parsed {
                        let ids = s.products.iter().map(|p| p.id.clone()).collect();
                        state.products = Some(Arc::new(std::sync::RwLock::new(ids)));
                    }
                    product_ids = state.products.clone();
                    let chat_note = if state.auth.chat.is_some() {
                        "?token=<chat token>"
                    } else {
                        ""
                    };
                    let server = Server::start_with(cfg, state)?;
                    println!(
                        "preview: http://{}/{chat_note} (events: /api/events)",
                        server.local_addr()
                    );
                    Some(server)
                }
                None => None,
            };
            let show = ShowRun {
                mode: Mode::Live,
                outputs: outputs.clone(),
                seconds,
                lipsync,
                watch: !no_watch,
                restart_on_edit: on_edit == OnEdit::Restart,
                chat: chat.options(inbox)?,
                pace: None,
                progress: None,
                host,
                control: Some(control_rx),
                product_ids,
            };
            let report = run_show(&script, show, &video, &events);
            if let Some(server) = server
                && let Err(e) = server.shutdown()
            {
                tracing::warn!("{e}");
            }
            let report = report?;
            if let Outputs::Live {
                hls_dir,
                recording,
                pushes,
            } = &outputs
            {
                println!(
                    "on air for {:.1} s ({} frames); HLS: {}; recording: {}",
                    report.media_secs,
                    report.frames,
                    hls_dir.join("index.m3u8").display(),
                    recording.display()
                );
                for p in pushes {
                    println!("pushed to {p}");
                }
            }
            if report.underruns > 0 {
                println!(
                    "the voice was late for {} frames (silence was sent)",
                    report.underruns
                );
            }
        }
        Command::Render {
            script,
            output,
            seconds,
            lipsync,
            report: report_path,
            watch,
            chat,
            video,
        } => {
            let lipsync = lipsync.unwrap_or_else(|| output.with_extension("lipsync.json"));
            let show = ShowRun {
                mode: Mode::Render,
                outputs: Outputs::File {
                    path: output.clone(),
                },
                seconds,
                lipsync: Some(lipsync.clone()),
                watch,
                restart_on_edit: false,
                chat: if chat.chat_replay.is_some() {
                    chat.options(None)?
                } else {
                    None
                },
                pace: None,
                progress: None,
                host: None,
                control: None,
                product_ids: None,
            };
            let report = run_show(&script, show, &video, &Events::new())?;
            println!(
                "rendered {:.2} s ({} frames) to {} in {:.1} s: {:.2}x realtime; lip-sync track: {}",
                report.media_secs,
                report.frames,
                output.display(),
                report.wall_secs,
                report.media_secs / report.wall_secs.max(1e-9),
                lipsync.display()
            );
            if let Some(path) = report_path {
                let json = serde_json::json!({ "report": report, "peak_rss_mib": peak_rss_mib() });
                std::fs::write(&path, serde_json::to_vec_pretty(&json)?)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
        }
        Command::Check { script, format } => return check(&script, format),
        Command::Ask {
            script,
            product,
            json,
            chat,
            question,
        } => ask(&script, product, json, &chat.brain(), &question)?,
        Command::Schema { catalogue } => {
            let schema = if catalogue {
                anchor::script::catalogue_json_schema()
            } else {
                anchor::script::json_schema()
            };
            println!("{schema:#}");
        }
        Command::Voice { cmd } => voice_cli::run(cmd)?,
        Command::Say {
            text,
            output,
            lang,
            strong,
            voice,
            voices_dir,
        } => {
            let language = match lang {
                Some(tag) => Language::from_tag(&tag)
                    .with_context(|| format!("unknown language `{tag}`: use zh-CN or en-US"))?,
                None if text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) => {
                    Language::ZhCn
                }
                None => Language::EnUs,
            };
            let found = voice::engine::find(&voice, None, voices_dir.as_deref())?;
            let mut v = match &found {
                Some((file, dir)) => voice::engine::open_file(file, dir)?,
                None => Box::new(DefaultVoice::new()?),
            };
            let t = std::time::Instant::now();
            let emphasis = if strong {
                Emphasis::Strong
            } else {
                Emphasis::Normal
            };
            let chunk = v.synthesize(&Utterance {
                text,
                language,
                emphasis,
            })?;
            let wall = t.elapsed().as_secs_f64();
            voice::write_wav(&output, &chunk)?;
            println!(
                "{}: {:.2} s of speech, {} phonemes, synthesized at {:.0}x realtime",
                output.display(),
                chunk.duration_secs(),
                chunk.phonemes.len(),
                chunk.duration_secs() / wall.max(1e-9)
            );
            if let Some((file, _)) = found.filter(|(f, _)| !f.speaker_embedding.is_empty()) {
                voice_cli::print_similarity(&file, &chunk)?;
            }
        }
        Command::Avatar { out } => {
            anchor::avatar::generate_default(&out)?;
            println!("wrote {}", out.display());
        }
        Command::Bench {
            suite,
            script,
            products,
            seconds,
            hd,
            out,
        } => match suite {
            Suite::Render => bench(&script, seconds, hd, &out)?,
            Suite::Script => bench_script(products, &out)?,
            Suite::Reload => bench_reload(&script)?,
            Suite::Chat => bench_chat(&script, seconds)?,
            Suite::Voice => voice_cli::bench(seconds / 60.0, &out)?,
        },
        Command::Soak {
            script,
            hours,
            speed,
            out,
            no_push_fault,
            no_host_flap,
            video,
        } => soak(
            anchor::soak::SoakOptions {
                script,
                hours,
                speed: (speed > 0.0).then_some(speed),
                out,
                fps: video.fps,
                seed: video.seed,
                push_fault: !no_push_fault,
                host_flap: !no_host_flap,
            },
            &video,
        )?,
        Command::Doctor => return Ok(doctor()),
    }
    Ok(ExitCode::SUCCESS)
}

fn load(script_path: &Path) -> Result<(Script, AvatarManifest)> {
    let script = Script::load(script_path)?;
    let dir = script_path.parent().unwrap_or(Path::new("."));
    let avatar_dir = anchor::home::resolve(&script.show.avatar, dir);
    let avatar = AvatarManifest::load(&avatar_dir)?;
    Ok((script, avatar))
}

/// How a show is run (the parts that differ between `run` and `render`).
struct ShowRun {
    mode: Mode,
    outputs: Outputs,
    seconds: Option<f64>,
    lipsync: Option<PathBuf>,
    watch: bool,
    restart_on_edit: bool,
    chat: Option<ChatOptions>,
    pace: Option<f64>,
    progress: Option<Arc<show::Progress>>,
    host: Option<HostOptions>,
    control: Option<crossbeam_channel::Receiver<anchor::server::ControlCommand>>,
    product_ids: Option<anchor::server::ProductIds>,
}

fn run_show(
    script_path: &Path,
    run: ShowRun,
    video: &VideoArgs,
    events: &Events,
) -> Result<ShowReport> {
    let (script, avatar) = load(script_path)?;
    for w in &script.warnings {
        eprintln!("{w}");
    }
    let (width, height, out_width, out_height) = video.sizes();
    let clock = match &video.clock_start {
        Some(t) => ShowClock {
            start: t.parse::<jiff::Timestamp>().with_context(|| {
                format!("invalid --clock-start `{t}`: use RFC 3339, e.g. 2026-11-21T22:59:00+08:00")
            })?,
        },
        None => ShowClock::now(),
    };
    let opts = ShowOptions {
        mode: run.mode,
        width,
        height,
        out_width,
        out_height,
        fps: video.fps,
        outputs: run.outputs,
        seconds: run.seconds,
        lipsync: run.lipsync,
        seed: video.seed,
        clock,
        watch: run.watch.then(|| script_path.to_path_buf()),
        restart_on_edit: run.restart_on_edit,
        chat: run.chat,
        pace: run.pace,
        progress: run.progress,
        host: run.host,
        control: run.control,
        product_ids: run.product_ids,
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second Ctrl-C while finishing is ignored; the recording is closed properly.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::Relaxed));
    }
    tracing::info!(title = %script.show.title, mode = ?run.mode, width, height, out_width, out_height, fps = video.fps, "starting show");
    Ok(show::run(&script, &avatar, &opts, events, &stop)?)
}

/// `anchor soak`: the show under faults for `hours` of media; prints the goals.
fn soak(opts: anchor::soak::SoakOptions, video: &VideoArgs) -> Result<()> {
    // A night on air: without --clock-start, the soak starts when the script's schedule next
    // opens (a show that is off the schedule would only idle).
    let mut video = video.clone();
    if video.clock_start.is_none() {
        let schedule = show::Schedule::new(&Script::load(&opts.script)?.show.schedule);
        let now = jiff::Timestamp::now();
        if !schedule.on_air(now)
            && let Some(start) = schedule.next_start(now)
        {
            video.clock_start = Some(start.timestamp().to_string());
        }
    }
    let video = &video;
    let report = anchor::soak::run(&opts, |s| {
        // With the push fault, the live outputs (HLS, fragmented recording, the push) in
        // render mode; else one MP4.
        let outputs = match &s.push {
            Some(url) => Outputs::Live {
                hls_dir: s.hls_dir.clone(),
                recording: s.recording.clone(),
                pushes: vec![anchor::stream::PushUrl::parse(url)?],
            },
            None => Outputs::File {
                path: s.recording.clone(),
            },
        };
        let run = ShowRun {
            mode: Mode::Render,
            outputs,
            seconds: Some(s.seconds),
            lipsync: None,
            watch: true,
            restart_on_edit: false,
            chat: Some(ChatOptions {
                inbox: None,
                replay: Some(s.chat),
                brain: Default::default(),
            }),
            pace: s.pace,
            progress: Some(s.progress),
            host: s
                .host
                .map(|url| -> Result<HostOptions> {
                    Ok(HostOptions {
                        source: anchor::host::HostSource::parse(&url)?,
                        grace: anchor::host::DEFAULT_GRACE,
                        control: anchor::host::HostControl::new(),
                    })
                })
                .transpose()?,
            control: None,
            product_ids: None,
        };
        run_show(&s.script, run, video, &Events::new()).map_err(Into::into)
    })?;
    print!("{}", report.markdown());
    println!("report: {}", opts.out.join("soak.md").display());
    Ok(())
}

fn check(path: &Path, format: Format) -> Result<ExitCode> {
    let result = Script::load(path);
    let report = CheckReport::new(path, &result);
    match (format, &result) {
        (Format::Json, _) => println!("{}", serde_json::to_string(&report)?),
        // A file-level error (missing, unreadable, binary): one clear line.
        (Format::Text, Err(e)) if e.diagnostics().is_empty() => eprintln!("{e}"),
        (Format::Text, _) => {
            for d in &report.problems {
                eprintln!("{d}");
            }
            if let Ok(script) = &result {
                println!(
                    "{}: ok ({} products, {} segments, {} warnings)",
                    path.display(),
                    script.products.len(),
                    script.segments.len(),
                    report.warnings
                );
            }
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One line per dependency; exit code 1 if any is missing.
fn doctor() -> ExitCode {
    let ffmpeg = anchor::stream::EncoderOptions::default().ffmpeg;
    let checks: Vec<(&str, Result<String>)> = vec![
        ("ffmpeg", std::process::Command::new(&ffmpeg).arg("-version").output().map_err(anyhow::Error::from).and_then(|o| {
            String::from_utf8_lossy(&o.stdout).lines().next().map(str::to_owned).context("no version output")
        }).map_err(|_| anyhow::anyhow!("{} not found; install it with `sudo apt-get install ffmpeg` (scripts/setup.sh does this)", ffmpeg.display()))),
        ("vulkan", check_vulkan()),
        ("espeak-ng", DefaultVoice::new().map(|_| "default voice ready".to_owned()).map_err(anyhow::Error::from)),
        ("onnxruntime", anchor::models::probe_onnx_model(&anchor::models::silero_vad())
            .map(|inputs| format!("{} loads Silero VAD (inputs: {})", anchor::models::onnx_runtime_library().display(), inputs.join(", ")))
            .map_err(anyhow::Error::from)),
        ("avatar", AvatarManifest::load(&anchor::home::home().join("avatars/default")).map(|a| a.model.display().to_string()).map_err(anyhow::Error::from)),
    ];
    let mut ok = true;
    for (name, result) in checks {
        match result {
            Ok(detail) => println!("ok    {name:<12} {detail}"),
            Err(e) => {
                ok = false;
                println!("FAIL  {name:<12} {}", error_line(&e));
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(feature = "render")]
fn check_vulkan() -> Result<String> {
    anchor::render::check_vulkan()?;
    Ok("Vulkan loader and driver present".into())
}

#[cfg(not(feature = "render"))]
fn check_vulkan() -> Result<String> {
    bail!("built without the renderer")
}

/// Runs `anchor render` in a child process per configuration (so peak memory is per run).
fn bench(script: &Path, seconds: f64, hd: bool, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let exe = std::env::current_exe()?;
    let mut configs = vec![
        ("640x360", ["640", "360", "640", "360"]),
        ("960x540→1280x720", ["960", "540", "1280", "720"]),
    ];
    if hd {
        configs.push(("1920x1080", ["1920", "1080", "1920", "1080"]));
    }
    println!(
        "{:<20} {:>9} {:>9} {:>11} {:>10} {:>10} {:>9}",
        "config", "media s", "wall s", "realtime", "render ms", "encode ms", "peak MiB"
    );
    let mut tts = (0.0, 0.0);
    for (name, [w, h, ow, oh]) in configs {
        let file = out.join(format!("bench-{w}x{h}.mp4"));
        let report_path = out.join(format!("bench-{w}x{h}.json"));
        let status = std::process::Command::new(&exe)
            .args(["render"])
            .arg(script)
            .arg("-o")
            .arg(&file)
            .args(["--seconds", &seconds.to_string()])
            .args([
                "--width",
                w,
                "--height",
                h,
                "--out-width",
                ow,
                "--out-height",
                oh,
                "--report",
            ])
            .arg(&report_path)
            .stdout(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            bail!("bench run {name} failed");
        }
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path)?)?;
        let r: ShowReport = serde_json::from_value(v["report"].clone()).unwrap_or_default();
        let frames = r.frames.max(1) as f64;
        println!(
            "{:<20} {:>9.1} {:>9.1} {:>10.2}x {:>10.1} {:>10.1} {:>9.0}",
            name,
            r.media_secs,
            r.wall_secs,
            r.media_secs / r.wall_secs.max(1e-9),
            1000.0 * r.render_wall_secs / frames,
            1000.0 * r.encode_wall_secs / frames,
            v["peak_rss_mib"].as_f64().unwrap_or(0.0)
        );
        tts = (tts.0 + r.tts_audio_secs, tts.1 + r.tts_wall_secs);
    }
    println!(
        "TTS: {:.1} s of speech in {:.2} s: {:.1}x realtime",
        tts.0,
        tts.1,
        tts.0 / tts.1.max(1e-9)
    );
    Ok(())
}

/// Load + validate time of generated catalogues: `products` products, and a tenth of that for
/// the scaling ratio. Median of several loads each.
fn bench_script(products: usize, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    println!(
        "{:>9} {:>10} {:>10} {:>12} {:>14}",
        "products", "KiB", "load ms", "µs/product", "per-product ×"
    );
    let mut base: Option<f64> = None;
    for n in [(products / 10).max(1), products] {
        let path = out.join(format!("catalogue-{n}.yaml"));
        std::fs::write(&path, anchor::script::synthetic_catalogue(n))?;
        let kib = std::fs::metadata(&path)?.len() as f64 / 1024.0;
        let mut times: Vec<f64> = (0..7)
            .map(|_| {
                let t = std::time::Instant::now();
                let loaded = Script::load(&path);
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                loaded.map(|s| (ms, s.products.len()))
            })
            .map(|r| r.map(|(ms, _)| ms))
            .collect::<Result<_, _>>()?;
        times.sort_by(f64::total_cmp);
        let ms = times[times.len() / 2];
        let per = 1000.0 * ms / n as f64;
        let ratio = base.map_or(1.0, |b| per / b);
        base.get_or_insert(per);
        println!("{n:>9} {kib:>10.0} {ms:>10.1} {per:>12.1} {ratio:>14.2}");
    }
    Ok(())
}

/// Reload-to-effect latency (media time) on `script`: text fixes and rundown changes, each
/// applied every ~20 s of a 10-minute simulated show with the real voice.
fn bench_reload(script_path: &Path) -> Result<()> {
    let script = Script::load(script_path)?;
    let text_fix = edited(&script, false);
    let structural = edited(&script, true);
    println!(
        "{:<10} {:>7} {:>9} {:>9} {:>9}",
        "edit", "n", "median s", "p90 s", "max s"
    );
    for (name, edit) in [("text", &text_fix), ("rundown", &structural)] {
        let samples = show::bench::reload_latency(&script, edit, 600.0, 20.0)?;
        let mut l: Vec<f64> = samples.iter().map(|s| s.latency()).collect();
        l.sort_by(f64::total_cmp);
        if l.is_empty() {
            bail!("no reload took effect");
        }
        let q = |p: f64| l[((l.len() - 1) as f64 * p).round() as usize];
        println!(
            "{name:<10} {:>7} {:>9.2} {:>9.2} {:>9.2}",
            l.len(),
            q(0.5),
            q(0.9),
            q(1.0)
        );
    }
    Ok(())
}

/// A copy of `script` with every line's text changed (`structural`: and the rundown reversed).
fn edited(script: &Script, structural: bool) -> Script {
    let mut s = script.clone();
    for seg in &mut s.segments {
        let lines: Vec<&mut anchor::script::Line> = match seg {
            anchor::script::Segment::Line(l) => vec![l],
            anchor::script::Segment::Product { lines, .. } => lines.iter_mut().collect(),
        };
        for line in lines {
            if let anchor::script::Line::Say { text, .. } = line {
                text.push_str("（改）");
            }
        }
    }
    if structural {
        s.segments.reverse();
    }
    s
}

/// `anchor ask`: the brain and the filter, without rendering.
fn ask(
    script_path: &Path,
    product: Option<String>,
    json: bool,
    brain: &BrainConfig,
    question: &str,
) -> Result<()> {
    let script = Script::load(script_path)?;
    if let Some(p) = &product
        && script.product(p).is_none()
    {
        bail!("no product `{p}` in {}", script_path.display());
    }
    let brain = Brain::new(&script, brain)?;
    let moderator = Moderator::new(&script.chat.banned_words);
    let ctx = ShowContext {
        current_product: product,
        asked_by: 1,
        viewer: None,
    };
    let answer_one = |q: &str| -> serde_json::Value {
        let text = match moderator.incoming(q) {
            Incoming::Blocked(v) => {
                return serde_json::json!({
                    "question": q, "verdict": "blocked", "product": null, "faq": null,
                    "intent": null, "text": null, "gesture": null, "confidence": 0.0,
                    "reason": v.kind,
                });
            }
            Incoming::Clean { text } | Incoming::Masked { text, .. } => text,
        };
        let reply = brain.answer(&text, &ctx);
        let (verdict, spoken) = match moderator.spoken(&reply.text) {
            Ok(()) => (
                serde_json::to_value(reply.verdict).unwrap_or_default(),
                reply.text.clone(),
            ),
            Err(_) => ("fallback".into(), script.chat.fallback.clone()),
        };
        serde_json::json!({
            "question": q, "verdict": verdict, "product": reply.product, "faq": reply.faq,
            "intent": reply.intent, "text": spoken,
            "gesture": reply.gesture.map(|g| g.name()), "confidence": reply.confidence,
        })
    };
    let print = |v: &serde_json::Value| {
        if json {
            println!("{v}");
        } else {
            println!(
                "[{} {}] {}",
                v["verdict"].as_str().unwrap_or("?"),
                v["intent"].as_str().unwrap_or("-"),
                v["text"].as_str().unwrap_or("(not answered)")
            );
        }
    };
    if question == "-" {
        for line in std::io::stdin().lock().lines() {
            let line = line.context("stdin is not UTF-8 text")?;
            if !line.trim().is_empty() {
                print(&answer_one(&line));
            }
        }
    } else {
        print(&answer_one(question));
    }
    Ok(())
}

/// Chat response latency (media time) per answer policy under 10 messages/s of background
/// chat, plus the brain's accuracy and retrieval time on the labelled question set.
fn bench_chat(script_path: &Path, seconds: f64) -> Result<()> {
    use anchor::script::AnswerPolicy;
    let script = Script::load(script_path)?;
    let seconds = seconds.max(60.0);
    for answerable in [false, true] {
        let traffic = anchor::chat::bench::traffic(&script, seconds, 10.0, 7, answerable);
        println!(
            "{seconds:.0} s of media, 10 messages/s of background chat ({}), a probe question every {:.0} s",
            if answerable {
                "with greetings, thanks and a popular question the host also answers"
            } else {
                "chatter and emoji"
            },
            anchor::chat::bench::PROBE_EVERY
        );
        println!(
            "{:<18} {:>8} {:>15} {:>15} {:>15} {:>12}",
            "policy", "probes", "reply p50/p95", "answer p50/p95", "beyond sentence", "all replies"
        );
        for policy in [AnswerPolicy::Immediately, AnswerPolicy::BetweenSentences] {
            let r = anchor::chat::bench::latency(
                &script,
                policy,
                &traffic,
                seconds,
                &BrainConfig::default(),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let q = |v: &[f64]| {
                format!(
                    "{:.2}/{:.2}",
                    anchor::chat::bench::quantile(v, 0.5),
                    anchor::chat::bench::quantile(v, 0.95)
                )
            };
            println!(
                "{:<18} {:>8} {:>15} {:>15} {:>15} {:>12}",
                format!("{policy:?}"),
                format!("{}/{}", r.latencies.len(), r.probes),
                q(&r.latencies),
                q(&r.answers),
                q(&r.beyond_sentence),
                r.all.len(),
            );
            println!("  desk: {}", serde_json::to_string(&r.stats)?);
        }
    }
    let set = anchor::home::home().join("tests/fixtures/chat/questions.jsonl");
    if set.exists() {
        let report = anchor::brain::evaluate(&set)?;
        println!("{report}");
    }
    Ok(())
}

/// Peak resident memory of this process (VmHWM), MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!("show-{secs}")
}
