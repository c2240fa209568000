//! Timbre stage: analysis on synthetic voices with known truth; matching on real built-in
//! (espeak-ng) speech, Mandarin and English, up and down.
//!
//! `report_figures` (ignored) prints the before/after figures and the DSP realtime factor:
//! `cargo test --release --no-default-features --test voice_timbre -- --ignored --nocapture`
//! (set `ANCHOR_TIMBRE_WAVS=DIR` to also write the audio).

use std::time::Instant;

use anchor::voice::timbre::{
    Matched, STRONG_EMPHASIS_LU, TimbreError, TimbreMatch, analyze, builtin_profile, f0_contour,
    formant_scale,
};
use anchor::voice::voicefile::VoiceProfile;
use anchor::voice::{DefaultVoice, Emphasis, Language, SpeechChunk, Synthesizer, Utterance};

const ZH_LINE: &str = "家人们，今天直播间到手价九十九元，赶紧下单吧！";
const EN_LINE: &str = "Hello everyone, this lipstick is only nine dollars today!";

// ---------------------------------------------------------------- synthetic voices

/// A vowel-like voice with known truth: a glottal pulse train (impulses, two one-pole
/// low-passes for the glottal roll-off, a first difference for lip radiation) through a
/// cascade of two-pole resonators `(F, bandwidth)`, cut into syllables of 150 ms every
/// 200 ms (5 per second), at `rate` Hz.
fn synthetic_voice(
    f0: impl Fn(f32) -> f32,
    formants: &[(f32, f32)],
    secs: f32,
    rate: u32,
) -> Vec<f32> {
    voice_signal(f0, formants, secs, rate, true)
}

/// As [`synthetic_voice`]; `syllables: false` gives one unbroken phrase.
fn voice_signal(
    f0: impl Fn(f32) -> f32,
    formants: &[(f32, f32)],
    secs: f32,
    rate: u32,
    syllables: bool,
) -> Vec<f32> {
    let fs = rate as f32;
    let n = (secs * fs) as usize;
    let mut phase = 0.0f32;
    let mut src = vec![0.0f32; n];
    for (i, s) in src.iter_mut().enumerate() {
        let t = i as f32 / fs;
        phase += f0(t) / fs;
        if phase >= 1.0 {
            phase -= 1.0;
            // Syllable envelope: Hann over the first 150 ms of every 200 ms.
            let k = (t % 0.2) / 0.15;
            if !syllables {
                *s = 1.0;
            } else if k < 1.0 {
                *s = 0.5 - 0.5 * (2.0 * std::f32::consts::PI * k).cos();
            }
        }
    }
    // Glottal roll-off (corner ~ 400 Hz, whatever the rate) and lip radiation.
    let a = (-2.0 * std::f32::consts::PI * 400.0 / fs).exp();
    let mut x = src;
    for _ in 0..2 {
        let mut y = 0.0;
        for v in x.iter_mut() {
            y = *v + a * y;
            *v = y;
        }
    }
    let mut prev = 0.0;
    for v in x.iter_mut() {
        let d = *v - prev;
        prev = *v;
        *v = d;
    }
    for &(f, bw) in formants {
        let r = (-std::f32::consts::PI * bw / fs).exp();
        let a1 = 2.0 * r * (2.0 * std::f32::consts::PI * f / fs).cos();
        let a2 = -r * r;
        let g = 1.0 - a1 - a2;
        let (mut y1, mut y2) = (0.0f32, 0.0f32);
        for v in x.iter_mut() {
            let y = g * *v + a1 * y1 + a2 * y2;
            y2 = y1;
            y1 = y;
            *v = y;
        }
    }
    let peak = x.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    x.iter_mut().for_each(|s| *s *= 0.5 / peak);
    x
}

fn within(got: f32, want: f32, tol: f32) -> bool {
    (got / want - 1.0).abs() <= tol
}

fn st(from: f32, to: f32) -> f32 {
    12.0 * (to / from).log2()
}

#[test]
fn analysis_recovers_f0_formants_rate_of_synthetic_voices() {
    // (F0, formants with bandwidths): a low male /a/, a female /a/, a mid /e/-like vowel.
    let voices: [(f32, [(f32, f32); 4]); 3] = [
        (
            110.0,
            [
                (730.0, 80.0),
                (1090.0, 90.0),
                (2440.0, 120.0),
                (3400.0, 200.0),
            ],
        ),
        (
            220.0,
            [
                (850.0, 90.0),
                (1220.0, 100.0),
                (2810.0, 130.0),
                (3800.0, 200.0),
            ],
        ),
        (
            160.0,
            [
                (500.0, 70.0),
                (1800.0, 100.0),
                (2500.0, 120.0),
                (3500.0, 200.0),
            ],
        ),
    ];
    for (f0, formants) in voices {
        for rate in [48_000u32, 22_050, 16_000] {
            let x = synthetic_voice(|_| f0, &formants, 3.0, rate);
            if let Some(dir) = std::env::var_os("ANCHOR_TIMBRE_WAVS") {
                let c = SpeechChunk {
                    pcm: x.clone(),
                    sample_rate: rate,
                    ..SpeechChunk::default()
                };
                anchor::voice::write_wav(
                    std::path::PathBuf::from(dir).join(format!("voice_{f0}_{rate}.wav")),
                    &c,
                )
                .expect("wav");
            }
            let p = analyze(&[(&x, rate)]).expect("analysis");
            let what = format!("F0 {f0} at {rate} Hz: {p:?}");
            assert!(within(p.f0_median_hz, f0, 0.02), "median F0, {what}");
            assert!(
                within(p.f0_p5_hz, f0, 0.02) && within(p.f0_p95_hz, f0, 0.02),
                "{what}"
            );
            assert!(p.f0_range_semitones < 0.5, "steady F0 has no range, {what}");
            for k in 0..2 {
                assert!(
                    within(p.formants_hz[k], formants[k].0, 0.10),
                    "F{} {} vs {}, {what}",
                    k + 1,
                    p.formants_hz[k],
                    formants[k].0
                );
            }
            assert!(within(p.formants_hz[2], formants[2].0, 0.12), "F3, {what}");
            // 5 syllables per second, 50 ms gaps count as speech.
            assert!(within(p.speaking_rate, 5.0, 0.15), "rate, {what}");
            // Vocal-tract length from the formants measured: the uniform-tube formula.
            let spacing =
                (0.5 * p.formants_hz[0] + 1.5 * p.formants_hz[1] + 2.5 * p.formants_hz[2])
                    / (0.25 + 2.25 + 6.25);
            assert!(
                within(p.vocal_tract_cm, 35_000.0 / (2.0 * spacing), 0.001),
                "{what}"
            );
            assert!((-40.0..-3.0).contains(&p.loudness_lufs), "{what}");
        }
    }
}

#[test]
fn analysis_measures_range_slope_and_final_rise_of_a_glide() {
    // 2 s phrase gliding 150 → 300 Hz (one octave, 6 st/s), then a 1 s phrase at 200 Hz
    // whose last 0.3 s rise by 4 semitones, with a 0.5 s pause between.
    let fs = 48_000u32;
    let formants = [(700.0, 80.0), (1200.0, 90.0), (2600.0, 120.0)];
    let glide = voice_signal(|t| 150.0 * 2f32.powf(t / 2.0), &formants, 2.0, fs, false);
    let rise = voice_signal(
        |t| {
            if t < 0.7 {
                200.0
            } else {
                200.0 * 2f32.powf((t - 0.7) / 0.3 * 4.0 / 12.0)
            }
        },
        &formants,
        1.0,
        fs,
        false,
    );
    let mut x = glide.clone();
    x.extend(std::iter::repeat_n(0.0, fs as usize / 2));
    x.extend_from_slice(&rise);
    let p = analyze(&[(&x, fs)]).expect("analysis");
    // p5/p95 of a 2 s octave glide plus 1 s near 200 Hz: range well above 8 semitones.
    assert!(
        p.f0_range_semitones > 8.0 && p.f0_range_semitones < 13.0,
        "{p:?}"
    );
    assert!(p.f0_p5_hz < 165.0 && p.f0_p95_hz > 260.0, "{p:?}");
    // Slope weighted by phrase length: (6 st/s · 2 s + small · 1 s) / 3 s ≈ 4–5.5.
    assert!((3.5..6.0).contains(&p.f0_slope_st_per_s), "{p:?}");
    // Final rise: the glide's ends rise ~0.8 st (last 120 ms against the 400 ms before), the
    // second phrase's ~2.6 st: a clear positive habit.
    assert!(p.f0_final_rise_st > 0.8, "{p:?}");
    let contour = f0_contour(&glide, fs).expect("contour");
    let voiced: Vec<f32> = contour.iter().copied().filter(|v| *v > 0.0).collect();
    assert!(voiced.len() > 300, "{} voiced frames", voiced.len());
    assert!(
        voiced.windows(2).all(|w| w[1] >= w[0] * 0.99),
        "glide rises monotonically"
    );
}

#[test]
fn bad_input_is_an_error_not_a_profile() {
    let silence = vec![0.0f32; 48_000];
    assert!(matches!(
        analyze(&[(&silence, 48_000)]),
        Err(TimbreError::TooLittleSpeech { .. })
    ));
    let mut nan = synthetic_voice(|_| 120.0, &[(700.0, 80.0)], 1.0, 16_000);
    nan[100] = f32::NAN;
    assert!(matches!(
        analyze(&[(&silence, 48_000), (&nan, 16_000)]),
        Err(TimbreError::NonFinite { clip: 1 })
    ));
    assert!(matches!(
        analyze(&[(&silence, 1_000)]),
        Err(TimbreError::SampleRate(1_000))
    ));
    let mut chunk = SpeechChunk {
        pcm: vec![0.1; 100],
        sample_rate: 0,
        ..SpeechChunk::default()
    };
    let m = TimbreMatch::new(&VoiceProfile::default(), &VoiceProfile::default());
    assert!(m.apply(&mut chunk).is_err());
    // An empty chunk is fine and stays empty.
    let mut empty = SpeechChunk {
        sample_rate: 48_000,
        ..SpeechChunk::default()
    };
    m.apply(&mut empty).expect("empty chunk");
    assert!(empty.pcm.is_empty());
}

// ---------------------------------------------------------------- matching, synthetic

#[test]
fn psola_shifts_a_synthetic_voice_exactly() {
    let fs = 48_000u32;
    let formants = [
        (700.0, 80.0),
        (1200.0, 90.0),
        (2600.0, 120.0),
        (3500.0, 200.0),
    ];
    let x = synthetic_voice(|_| 140.0, &formants, 3.0, fs);
    let source = analyze(&[(&x, fs)]).expect("analysis");
    for (f0_ratio, alpha) in [
        (1.5f32, 1.0f32),
        (0.75, 1.0),
        (1.0, 1.15),
        (1.0, 0.87),
        (1.3, 1.1),
    ] {
        let target = VoiceProfile {
            f0_median_hz: source.f0_median_hz * f0_ratio,
            vocal_tract_cm: source.vocal_tract_cm / alpha,
            // The vocal-tract length decides only without an envelope.
            envelope_db: Vec::new(),
            ..source.clone()
        };
        let m = TimbreMatch::new(&source, &target);
        let mut chunk = SpeechChunk {
            pcm: x.clone(),
            sample_rate: fs,
            ..SpeechChunk::default()
        };
        m.apply(&mut chunk).expect("apply");
        if let Some(dir) = std::env::var_os("ANCHOR_TIMBRE_WAVS") {
            let dir = std::path::PathBuf::from(dir);
            anchor::voice::write_wav(
                dir.join("synth_in.wav"),
                &SpeechChunk {
                    pcm: x.clone(),
                    sample_rate: fs,
                    ..SpeechChunk::default()
                },
            )
            .expect("wav");
            anchor::voice::write_wav(dir.join(format!("synth_{f0_ratio}_{alpha}.wav")), &chunk)
                .expect("wav");
        }
        let out = analyze(&[(&chunk.pcm, fs)]).expect("analysis");
        let what = format!("F0 ×{f0_ratio}, formants ×{alpha}: {out:?}");
        assert!(within(out.f0_median_hz, 140.0 * f0_ratio, 0.02), "{what}");
        for k in 0..3 {
            assert!(
                within(out.formants_hz[k] / source.formants_hz[k], alpha, 0.06),
                "F{} {} → {}, {what}",
                k + 1,
                source.formants_hz[k],
                out.formants_hz[k]
            );
        }
        assert_eq!(chunk.pcm.len(), x.len(), "no rate change asked");
    }
}

// ---------------------------------------------------------------- matching, built-in voice

fn voice() -> DefaultVoice {
    DefaultVoice::new().expect("espeak-ng with cmn-latn-pinyin and en-us installed")
}

fn say(text: &str, language: Language) -> SpeechChunk {
    voice()
        .synthesize(&Utterance {
            text: text.into(),
            language,
            emphasis: Emphasis::Normal,
        })
        .expect("synthesis")
}

fn line(lang: Language) -> SpeechChunk {
    say(
        match lang {
            Language::ZhCn => ZH_LINE,
            Language::EnUs => EN_LINE,
        },
        lang,
    )
}

fn profile(c: &SpeechChunk) -> VoiceProfile {
    analyze(&[(&c.pcm, c.sample_rate)]).expect("analysis")
}

fn source(lang: Language) -> VoiceProfile {
    builtin_profile(&mut voice(), lang).expect("built-in profile")
}

fn geo_mean(f: &[f32; 3]) -> f32 {
    (f[0] * f[1] * f[2]).cbrt()
}

#[test]
fn matching_moves_f0_and_formants_toward_the_target_both_ways_in_both_languages() {
    for lang in [Language::ZhCn, Language::EnUs] {
        let src = source(lang);
        let input = line(lang);
        let before = profile(&input);
        // (F0 shift in semitones, formant factor): a higher, smaller voice and a lower, larger one.
        for (shift, alpha) in [(5.0f32, 1.12f32), (-4.0, 0.9)] {
            let target = VoiceProfile {
                f0_median_hz: src.f0_median_hz * 2f32.powf(shift / 12.0),
                vocal_tract_cm: src.vocal_tract_cm / alpha,
                // The vocal-tract length decides only without an envelope.
                envelope_db: Vec::new(),
                ..src.clone()
            };
            let m = TimbreMatch::new(&src, &target);
            assert!((m.pitch_shift_semitones() - shift).abs() < 1e-3);
            assert!((m.formant_factor() - alpha).abs() < 1e-4);
            let mut out = input.clone();
            m.apply(&mut out).expect("apply");
            let after = profile(&out);
            let what = format!(
                "{lang:?} {shift:+} st, formants ×{alpha}\n before {before:?}\n after  {after:?}"
            );
            // F0: the right way, at least 70% of the shift asked for (and not wildly more).
            let moved = st(before.f0_median_hz, after.f0_median_hz);
            assert!(
                moved / shift >= 0.7 && moved / shift <= 1.3,
                "F0 moved {moved:.2} st, {what}"
            );
            // Formants: the right way, at least half of the factor asked for (and not wildly
            // more), measured as the matcher measures voices, by aligning mean envelopes.
            let asked = alpha.ln();
            let got = formant_scale(&before, &after)
                .expect("before and after envelopes align")
                .ln();
            assert!(
                got / asked >= 0.5 && got / asked <= 1.5,
                "formants moved {got:.3} of {asked:.3}, {what}"
            );
            // The matcher, given the speech it made as a target speaker, finds the way back.
            let back = TimbreMatch::new(&after, &before);
            assert!(
                (back.formant_factor().ln() + got).abs() < 0.03,
                "back ×{}, {what}",
                back.formant_factor()
            );
            // Nothing else asked: duration kept, voicing kept.
            assert_eq!(out.pcm.len(), input.pcm.len(), "{what}");
            assert!(
                after.voiced_secs > 0.8 * before.voiced_secs,
                "voicing lost, {what}"
            );
        }
    }
}

#[test]
fn range_scaling_widens_and_narrows_the_f0_range() {
    let src = source(Language::EnUs);
    let input = line(Language::EnUs);
    let before = profile(&input);
    for k in [1.6f32, 0.6] {
        // Contour habits scaled along (else the slope and final rise of the source are kept,
        // which is a range of their own).
        let target = VoiceProfile {
            f0_range_semitones: src.f0_range_semitones * k,
            f0_slope_st_per_s: src.f0_slope_st_per_s * k,
            f0_final_rise_st: src.f0_final_rise_st * k,
            ..src.clone()
        };
        let m = TimbreMatch::new(&src, &target);
        let mut out = input.clone();
        m.apply(&mut out).expect("apply");
        let after = profile(&out);
        let got = after.f0_range_semitones / before.f0_range_semitones;
        // At least 70% of the way in log terms.
        assert!(
            got.ln() / k.ln() >= 0.7,
            "range ×{k}: {} → {}",
            before.f0_range_semitones,
            after.f0_range_semitones
        );
        // The median stays (within a semitone).
        assert!(
            st(before.f0_median_hz, after.f0_median_hz).abs() < 1.0,
            "{after:?}"
        );
    }
}

#[test]
fn chinese_and_english_lines_come_out_in_the_same_voice() {
    // A merchant voice: higher and smaller than the built-in one, a bit faster, at -18 LUFS.
    let target = VoiceProfile {
        f0_median_hz: 180.0,
        f0_range_semitones: 6.0,
        vocal_tract_cm: 14.8,
        speaking_rate: 5.0,
        loudness_lufs: -18.0,
        ..VoiceProfile::default()
    };
    let mut host = Matched::builtin(voice(), &target, 1.0).expect("matched voice");
    let mut got = Vec::new();
    for (text, lang) in [(ZH_LINE, Language::ZhCn), (EN_LINE, Language::EnUs)] {
        let utt = Utterance {
            text: text.into(),
            language: lang,
            emphasis: Emphasis::Normal,
        };
        let c = host.synthesize(&utt).expect("matched synthesis");
        let dur = c.duration_secs() as f32;
        assert!(
            !c.words.is_empty() && c.words.iter().all(|w| w.end <= dur + 1e-4),
            "{lang:?}"
        );
        got.push((lang, profile(&c)));
    }
    let (zh, en) = (&got[0].1, &got[1].1);
    let what = format!("\n zh {zh:?}\n en {en:?}");
    // The two built-in voices differ by ~2 semitones; matched, both sit near the target.
    assert!(
        st(target.f0_median_hz, zh.f0_median_hz).abs() < 1.5,
        "{what}"
    );
    assert!(
        st(target.f0_median_hz, en.f0_median_hz).abs() < 1.5,
        "{what}"
    );
    assert!(st(zh.f0_median_hz, en.f0_median_hz).abs() < 1.5, "{what}");
    assert!(
        within(zh.vocal_tract_cm, target.vocal_tract_cm, 0.06),
        "{what}"
    );
    assert!(
        within(en.vocal_tract_cm, target.vocal_tract_cm, 0.06),
        "{what}"
    );
    assert!(
        (zh.loudness_lufs + 18.0).abs() <= 1.0 && (en.loudness_lufs + 18.0).abs() <= 1.0,
        "{what}"
    );
    // Strong lines stay louder than normal ones after matching.
    let strong = host
        .synthesize(&Utterance {
            text: ZH_LINE.into(),
            language: Language::ZhCn,
            emphasis: Emphasis::Strong,
        })
        .expect("strong");
    let ls = profile(&strong).loudness_lufs;
    assert!(
        (ls - zh.loudness_lufs - STRONG_EMPHASIS_LU).abs() < 0.5,
        "strong {ls} vs {}",
        zh.loudness_lufs
    );
}

#[test]
fn rate_change_scales_duration_and_timings_together() {
    for lang in [Language::ZhCn, Language::EnUs] {
        let src = source(lang);
        let input = line(lang);
        let before = profile(&input);
        for factor in [1.25f32, 0.8] {
            let target = VoiceProfile {
                speaking_rate: src.speaking_rate * factor,
                ..src.clone()
            };
            let m = TimbreMatch::new(&src, &target);
            let mut out = input.clone();
            m.apply(&mut out).expect("apply");
            let what = format!("{lang:?} rate ×{factor}");
            let ratio = out.duration_secs() / input.duration_secs();
            assert!(
                (ratio - 1.0 / f64::from(factor)).abs() < 0.002,
                "duration ×{ratio:.4}, {what}"
            );
            let dur = out.duration_secs() as f32;
            assert_eq!(out.words.len(), input.words.len(), "{what}");
            assert_eq!(out.phonemes.len(), input.phonemes.len(), "{what}");
            for (a, b) in input.words.iter().zip(&out.words) {
                assert!(
                    (b.start - a.start / factor).abs() < 1e-3,
                    "{a:?} → {b:?}, {what}"
                );
                assert!(
                    (b.end - a.end / factor).abs() < 1e-3,
                    "{a:?} → {b:?}, {what}"
                );
                assert!(
                    b.start < b.end && b.end <= dur + 1e-4,
                    "{b:?} outside {dur}, {what}"
                );
            }
            for (a, b) in input.phonemes.iter().zip(&out.phonemes) {
                assert!(
                    (b.start - a.start / factor).abs() < 1e-3 && b.end <= dur + 1e-4,
                    "{what}"
                );
            }
            // The words are still where their sound is: audio energy inside each word.
            for w in &out.words {
                let (s, e) = ((w.start * 48_000.0) as usize, (w.end * 48_000.0) as usize);
                let rms = (out.pcm[s..e].iter().map(|v| v * v).sum::<f32>()
                    / (e - s).max(1) as f32)
                    .sqrt();
                assert!(rms > 0.005, "silent word {w:?}, {what}");
            }
            // And the measured speaking rate moved at least 70% of the way (log terms).
            let after = profile(&out);
            let moved = (after.speaking_rate / before.speaking_rate).ln() / factor.ln();
            assert!(
                moved >= 0.7,
                "rate {} → {}, {what}",
                before.speaking_rate,
                after.speaking_rate
            );
        }
    }
}

#[test]
fn loudness_lands_within_one_lu_of_the_target() {
    for lang in [Language::ZhCn, Language::EnUs] {
        let src = source(lang);
        let input = line(lang);
        for lufs in [-16.0f32, -23.0, -28.0] {
            let target = VoiceProfile {
                loudness_lufs: lufs,
                f0_median_hz: src.f0_median_hz * 1.2,
                ..src.clone()
            };
            let mut out = input.clone();
            TimbreMatch::new(&src, &target)
                .apply(&mut out)
                .expect("apply");
            let got = profile(&out).loudness_lufs;
            assert!((got - lufs).abs() <= 1.0, "{lang:?}: {got} LUFS for {lufs}");
            let peak = out.pcm.iter().fold(0.0f32, |m, s| m.max(s.abs()));
            assert!(peak <= 0.951, "peak {peak}");
        }
    }
    // Out-of-range targets are clamped to the safe range.
    let src = source(Language::ZhCn);
    let m = TimbreMatch::new(
        &src,
        &VoiceProfile {
            loudness_lufs: -5.0,
            ..src.clone()
        },
    );
    assert_eq!(m.loudness_target_lufs(), Some(-14.0));
}

/// High-frequency "discontinuity energy": energy above ~18 kHz (a 16th-order high-pass)
/// over the total, in dB, for the whole signal and for the worst 10 ms frame among the
/// non-silent ones. The built-in voice has no content above 11.025 kHz (it is resampled from
/// 22.05 kHz) and a 1.25 formant warp moves that to 13.8 kHz at most, so energy up there is
/// what clicks and grain-edge discontinuities leave.
fn hf_discontinuity_db(x: &[f32], fs: u32) -> (f32, f32) {
    let w = (std::f32::consts::PI * 18_000.0 / fs as f32).tan();
    // Bilinear second-order Butterworth high-pass sections, cascaded 8 times.
    let k = w * w;
    let q = std::f32::consts::SQRT_2;
    let norm = 1.0 / (1.0 + q * w + k);
    let (b0, b1, b2) = (norm, -2.0 * norm, norm);
    let (a1, a2) = (2.0 * (k - 1.0) * norm, (1.0 - q * w + k) * norm);
    let mut y: Vec<f32> = x.to_vec();
    for _ in 0..8 {
        let (mut x1, mut x2, mut y1, mut y2) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        for v in y.iter_mut() {
            let out = b0 * *v + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
            x2 = x1;
            x1 = *v;
            y2 = y1;
            y1 = out;
            *v = out;
        }
    }
    let e = |s: &[f32]| s.iter().map(|v| f64::from(*v) * f64::from(*v)).sum::<f64>();
    let total = 10.0 * (e(&y) / e(x).max(1e-20)).log10();
    let n = fs as usize / 100;
    let loudest = x.chunks(n).map(e).fold(0.0f64, f64::max);
    let worst = x
        .chunks(n)
        .zip(y.chunks(n))
        .filter(|(a, _)| e(a) > loudest * 1e-3)
        .map(|(a, b)| 10.0 * (e(b) / e(a)).log10())
        .fold(f64::MIN, f64::max);
    (total as f32, worst as f32)
}

/// Below this, energy above 18 kHz is float rounding noise (f32 samples, sinc reads).
const HF_FLOOR_DB: f32 = -90.0;

/// Largest sample-to-sample step over the RMS of the non-silent samples.
fn max_jump_over_rms(x: &[f32]) -> f32 {
    let jump = x
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0f32, f32::max);
    let loud: Vec<f32> = x.iter().copied().filter(|v| v.abs() > 1e-4).collect();
    let rms = (loud.iter().map(|v| v * v).sum::<f32>() / loud.len().max(1) as f32).sqrt();
    jump / rms
}

#[test]
fn no_clicks_at_grain_joins() {
    for lang in [Language::ZhCn, Language::EnUs] {
        let src = source(lang);
        let input = line(lang);
        let (hf_in, worst_in) = hf_discontinuity_db(&input.pcm, 48_000);
        let jump_in = max_jump_over_rms(&input.pcm);
        // Up a lot (male → female), down, and every knob at once.
        let targets = [
            VoiceProfile {
                f0_median_hz: src.f0_median_hz * 2.0,
                vocal_tract_cm: src.vocal_tract_cm / 1.2,
                // The vocal-tract length decides only without an envelope.
                envelope_db: Vec::new(),
                ..src.clone()
            },
            VoiceProfile {
                f0_median_hz: src.f0_median_hz * 0.8,
                vocal_tract_cm: src.vocal_tract_cm * 1.12,
                // The vocal-tract length decides only without an envelope.
                envelope_db: Vec::new(),
                ..src.clone()
            },
            VoiceProfile {
                f0_median_hz: src.f0_median_hz * 1.5,
                f0_range_semitones: src.f0_range_semitones * 1.5,
                vocal_tract_cm: src.vocal_tract_cm / 1.1,
                // The vocal-tract length decides only without an envelope.
                envelope_db: Vec::new(),
                speaking_rate: src.speaking_rate * 1.2,
                loudness_lufs: -16.0,
                ..src.clone()
            },
        ];
        for (i, target) in targets.iter().enumerate() {
            let mut out = input.clone();
            TimbreMatch::new(&src, target)
                .apply(&mut out)
                .expect("apply");
            let (hf_out, worst_out) = hf_discontinuity_db(&out.pcm, 48_000);
            let jump_out = max_jump_over_rms(&out.pcm);
            let what = format!(
                "{lang:?} target {i}: HF {hf_in:.1} → {hf_out:.1} dB, worst frame {worst_in:.1} → {worst_out:.1} dB, jump/rms {jump_in:.2} → {jump_out:.2}"
            );
            // Relative to the input, above a floor of float rounding noise.
            assert!(hf_out <= (hf_in + 6.0).max(HF_FLOOR_DB), "{what}");
            assert!(worst_out <= (worst_in + 10.0).max(HF_FLOOR_DB), "{what}");
            assert!(jump_out <= jump_in * 1.3, "{what}");
        }
        // The measure sees a click: one 0.2 step in the input.
        let mut clicked = input.pcm.clone();
        let at = clicked.len() / 2;
        clicked[at..].iter_mut().take(480).for_each(|v| *v += 0.2);
        let (_, worst_click) = hf_discontinuity_db(&clicked, 48_000);
        assert!(
            worst_click > HF_FLOOR_DB + 20.0,
            "click not seen: {worst_click} vs {worst_in}"
        );
    }
}

#[test]
fn identity_and_strength() {
    let src = source(Language::ZhCn);
    let input = line(Language::ZhCn);
    // Same profile: the audio is untouched but for loudness (here the same: no change at all).
    let mut same = input.clone();
    TimbreMatch::new(&src, &src)
        .apply(&mut same)
        .expect("apply");
    assert_eq!(same.pcm.len(), input.pcm.len());
    let gain = src.loudness_lufs - profile(&input).loudness_lufs;
    let g = 10f32.powf(gain / 20.0);
    let err = input
        .pcm
        .iter()
        .zip(&same.pcm)
        .map(|(a, b)| (a * g - b).abs())
        .fold(0.0f32, f32::max);
    assert!(err < 0.02, "identity changed the audio by {err}");
    // Strength scales the shift; 0 is no shift.
    let target = VoiceProfile {
        f0_median_hz: src.f0_median_hz * 1.5,
        vocal_tract_cm: src.vocal_tract_cm / 1.2,
        // The vocal-tract length decides only without an envelope.
        envelope_db: Vec::new(),
        ..src.clone()
    };
    let full = TimbreMatch::new(&src, &target);
    let half = TimbreMatch::with_strength(&src, &target, 0.5);
    let none = TimbreMatch::with_strength(&src, &target, 0.0);
    assert!((half.pitch_shift_semitones() - full.pitch_shift_semitones() / 2.0).abs() < 1e-4);
    assert!((half.formant_factor() - full.formant_factor().sqrt()).abs() < 1e-4);
    assert_eq!(none.pitch_shift_semitones(), 0.0);
    assert_eq!(none.formant_factor(), 1.0);
    // Unmeasured (0) target fields leave that aspect alone.
    let partial = TimbreMatch::new(
        &src,
        &VoiceProfile {
            f0_median_hz: 200.0,
            ..VoiceProfile::default()
        },
    );
    assert_eq!(partial.formant_factor(), 1.0);
    assert_eq!(partial.rate_factor(), 1.0);
    assert_eq!(partial.loudness_target_lufs(), None);
    assert!(partial.pitch_shift_semitones() > 0.0);
    // Out-of-range asks are clamped.
    let wild = TimbreMatch::new(
        &src,
        &VoiceProfile {
            f0_median_hz: src.f0_median_hz * 8.0,
            vocal_tract_cm: 5.0,
            speaking_rate: src.speaking_rate * 3.0,
            envelope_db: Vec::new(),
            ..src.clone()
        },
    );
    assert_eq!(wild.pitch_shift_semitones(), 12.0);
    assert_eq!(wild.formant_factor(), 1.25);
    assert_eq!(wild.rate_factor(), 1.4);
}

// ---------------------------------------------------------------- figures for the report

#[test]
#[ignore]
fn report_figures() {
    let wavs = std::env::var_os("ANCHOR_TIMBRE_WAVS").map(std::path::PathBuf::from);
    let mut v = voice();
    let mut dsp_audio = 0.0f64;
    let mut dsp_wall = 0.0f64;
    let mut ana_audio = 0.0f64;
    let mut ana_wall = 0.0f64;
    let fmt = |p: &VoiceProfile| {
        format!(
            "F0 {:6.1} Hz (p5 {:5.1}, p95 {:5.1}, range {:4.1} st)  F1-3 {:4.0}/{:4.0}/{:4.0} Hz  VTL {:4.1} cm  rate {:4.2} syl/s  {:5.1} LUFS",
            p.f0_median_hz,
            p.f0_p5_hz,
            p.f0_p95_hz,
            p.f0_range_semitones,
            p.formants_hz[0],
            p.formants_hz[1],
            p.formants_hz[2],
            p.vocal_tract_cm,
            p.speaking_rate,
            p.loudness_lufs
        )
    };
    let targets = [
        (
            "female",
            VoiceProfile {
                f0_median_hz: 210.0,
                f0_range_semitones: 7.0,
                vocal_tract_cm: 14.5,
                speaking_rate: 5.2,
                loudness_lufs: -16.0,
                ..VoiceProfile::default()
            },
        ),
        (
            "deep",
            VoiceProfile {
                f0_median_hz: 78.0,
                f0_range_semitones: 4.0,
                vocal_tract_cm: 18.0,
                speaking_rate: 4.0,
                loudness_lufs: -20.0,
                ..VoiceProfile::default()
            },
        ),
        (
            "near",
            VoiceProfile {
                f0_median_hz: 110.0,
                f0_range_semitones: 5.0,
                vocal_tract_cm: 16.0,
                speaking_rate: 4.6,
                loudness_lufs: -18.0,
                ..VoiceProfile::default()
            },
        ),
    ];
    for lang in [Language::ZhCn, Language::EnUs] {
        let src = builtin_profile(&mut v, lang).expect("profile");
        println!("\n{lang:?} built-in profile: {}", fmt(&src));
        let input = line(lang);
        let t = Instant::now();
        let before = profile(&input);
        ana_wall += t.elapsed().as_secs_f64();
        ana_audio += input.duration_secs();
        println!(
            "  line in:                {}  {:.2} s",
            fmt(&before),
            input.duration_secs()
        );
        if let Some(dir) = &wavs {
            anchor::voice::write_wav(dir.join(format!("{}_in.wav", lang.tag())), &input)
                .expect("wav");
        }
        for (name, target) in &targets {
            let m = TimbreMatch::new(&src, target);
            let mut out = input.clone();
            let t = Instant::now();
            m.apply(&mut out).expect("apply");
            dsp_wall += t.elapsed().as_secs_f64();
            dsp_audio += input.duration_secs();
            let after = profile(&out);
            println!(
                "  → {name:6} target:    {}\n    asked: {:+.2} st, range ×{:.2}, formants ×{:.3}, rate ×{:.3}, {:?} LUFS\n    out:                 {}  {:.2} s",
                fmt(target),
                m.pitch_shift_semitones(),
                m.range_scale(),
                m.formant_factor(),
                m.rate_factor(),
                m.loudness_target_lufs(),
                fmt(&after),
                out.duration_secs()
            );
            println!(
                "    moved: F0 {:+.2} st ({:.0}% of asked), VTL {:.0}%, F1-3 mean {:.0}%, rate {:.0}%",
                st(before.f0_median_hz, after.f0_median_hz),
                100.0 * st(before.f0_median_hz, after.f0_median_hz) / m.pitch_shift_semitones(),
                100.0 * (before.vocal_tract_cm / after.vocal_tract_cm).ln()
                    / m.formant_factor().ln(),
                100.0 * (geo_mean(&after.formants_hz) / geo_mean(&before.formants_hz)).ln()
                    / m.formant_factor().ln(),
                100.0 * (after.speaking_rate / before.speaking_rate).ln() / m.rate_factor().ln(),
            );
            let (hf_in, w_in) = hf_discontinuity_db(&input.pcm, 48_000);
            let (hf_out, w_out) = hf_discontinuity_db(&out.pcm, 48_000);
            println!(
                "    HF>18k {hf_in:.1} → {hf_out:.1} dB, worst 10 ms {w_in:.1} → {w_out:.1} dB, jump/rms {:.2} → {:.2}",
                max_jump_over_rms(&input.pcm),
                max_jump_over_rms(&out.pcm)
            );
            if let Some(dir) = &wavs {
                anchor::voice::write_wav(dir.join(format!("{}_{name}.wav", lang.tag())), &out)
                    .expect("wav");
            }
        }
    }
    // Longer audio for the realtime factor: 8 lines per language, matched to "female".
    let mut long_audio = 0.0f64;
    let mut long_wall = 0.0f64;
    for lang in [Language::ZhCn, Language::EnUs] {
        let src = builtin_profile(&mut v, lang).expect("profile");
        let m = TimbreMatch::new(&src, &targets[0].1);
        let sentences = match lang {
            Language::ZhCn => anchor::voice::timbre::ZH_SENTENCES,
            Language::EnUs => anchor::voice::timbre::EN_SENTENCES,
        };
        for s in sentences {
            let mut c = say(s, lang);
            let t = Instant::now();
            m.apply(&mut c).expect("apply");
            long_wall += t.elapsed().as_secs_f64();
            long_audio += c.duration_secs() * f64::from(m.rate_factor());
        }
    }
    println!(
        "\nDSP realtime factor (apply): {:.0}× ({:.1} s of audio in {:.3} s) on the report lines; {:.0}× ({:.1} s in {:.3} s) on 16 sentences",
        dsp_audio / dsp_wall,
        dsp_audio,
        dsp_wall,
        long_audio / long_wall,
        long_audio,
        long_wall
    );
    println!(
        "Analysis realtime factor (analyze): {:.0}× ({:.1} s in {:.3} s)",
        ana_audio / ana_wall,
        ana_audio,
        ana_wall
    );
}
