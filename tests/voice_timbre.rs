//! Timbre stage: analysis on signals with known truth, matching on real built-in speech.

use anchor::voice::timbre::{TimbreMatch, analyze, builtin_profile, f0_contour};
use anchor::voice::voicefile::VoiceProfile;
use anchor::voice::{
    DefaultVoice, Emphasis, Language, SpeechChunk, Synthesizer, Utterance, write_wav,
};

fn say(text: &str, language: Language, emphasis: Emphasis) -> SpeechChunk {
    let mut v = DefaultVoice::new().expect("espeak-ng installed");
    v.synthesize(&Utterance {
        text: text.into(),
        language,
        emphasis,
    })
    .expect("synthesis")
}

fn profile_of(c: &SpeechChunk) -> VoiceProfile {
    analyze(&[(&c.pcm, c.sample_rate)]).expect("analysis")
}

#[test]
#[ignore]
fn explore_rate() {
    use anchor::voice::timbre::{EN_SENTENCES, ZH_SENTENCES};
    let mut v = DefaultVoice::new().expect("espeak");
    for (lang, set) in [
        (Language::ZhCn, ZH_SENTENCES),
        (Language::EnUs, EN_SENTENCES),
    ] {
        let src = builtin_profile(&mut v, lang).expect("p");
        let mut tot = [0.0f32; 4];
        for (si, text) in set.iter().enumerate() {
            let Ok(c) = v.synthesize(&Utterance {
                text: text.to_string(),
                language: lang,
                emphasis: Emphasis::Normal,
            }) else {
                println!("synthesis failed: {text}");
                continue;
            };
            write_wav(format!("/tmp/timbre/s_{}_{si}_in.wav", lang.tag()), &c).expect("wav");
            let p = profile_of(&c);
            let n = p.speaking_rate * p.speech_secs;
            let mut row = vec![format!("{:5.1}", n)];
            tot[0] += n;
            for (i, (rate, shift)) in [(1.25f32, 1.0f32), (0.8, 1.0), (1.0, 2.0)]
                .iter()
                .enumerate()
            {
                let t = VoiceProfile {
                    speaking_rate: src.speaking_rate * rate,
                    f0_median_hz: src.f0_median_hz * shift,
                    ..src.clone()
                };
                let mut out = c.clone();
                TimbreMatch::new(&src, &t).apply(&mut out).expect("apply");
                write_wav(format!("/tmp/timbre/s_{}_{si}_{i}.wav", lang.tag()), &out).expect("wav");
                let q = profile_of(&out);
                let m = q.speaking_rate * q.speech_secs;
                tot[i + 1] += m;
                row.push(format!(
                    "x{rate}/f{shift}: n {m:5.1} rate {:.2} (in {:.2}, ratio {:.2})",
                    q.speaking_rate,
                    p.speaking_rate,
                    q.speaking_rate / p.speaking_rate
                ));
            }
            println!("{} | {}", row.join(" | "), text);
        }
        println!("totals {tot:?}");
    }
}

#[test]
#[ignore]
fn explore() {
    let mut v = DefaultVoice::new().expect("espeak");
    for lang in [Language::ZhCn, Language::EnUs] {
        let p = builtin_profile(&mut v, lang).expect("profile");
        println!("{lang:?} builtin: {p:?}");
    }
    let zh = builtin_profile(&mut v, Language::ZhCn).expect("p");
    let en = builtin_profile(&mut v, Language::EnUs).expect("p");
    let lines = [
        (
            "zh",
            "今天直播间到手价99.9元，家人们赶紧下单！",
            Language::ZhCn,
        ),
        (
            "en",
            "Hello everyone, this lipstick is only nine dollars today!",
            Language::EnUs,
        ),
    ];
    for (name, text, lang) in lines {
        for emph in [Emphasis::Normal, Emphasis::Strong] {
            let c = say(text, lang, emph);
            let p = profile_of(&c);
            println!("{name} {emph:?}: dur {:.2} {p:?}", c.duration_secs());
        }
        let c = say(text, lang, Emphasis::Normal);
        write_wav(
            std::path::Path::new(&format!("/tmp/timbre/{name}_in.wav")),
            &c,
        )
        .expect("wav");
        dump_f0(&format!("{name}_in"), &c);
        let src = if lang == Language::ZhCn { &zh } else { &en };
        let targets = [
            (
                "female",
                VoiceProfile {
                    f0_median_hz: 220.0,
                    f0_range_semitones: src.f0_range_semitones * 1.3,
                    vocal_tract_cm: src.vocal_tract_cm / 1.15,
                    speaking_rate: src.speaking_rate * 1.1,
                    loudness_lufs: -16.0,
                    ..src.clone()
                },
            ),
            (
                "deep",
                VoiceProfile {
                    f0_median_hz: src.f0_median_hz * 0.8,
                    vocal_tract_cm: src.vocal_tract_cm * 1.1,
                    speaking_rate: src.speaking_rate * 0.85,
                    loudness_lufs: -23.0,
                    ..src.clone()
                },
            ),
        ];
        for (tname, t) in targets {
            let m = TimbreMatch::new(src, &t);
            let mut out = c.clone();
            m.apply(&mut out).expect("apply");
            let p = profile_of(&out);
            println!(
                "{name}->{tname}: {m:?}\n   dur {:.2} -> {:.2} out {p:?}",
                c.duration_secs(),
                out.duration_secs()
            );
            write_wav(
                std::path::Path::new(&format!("/tmp/timbre/{name}_{tname}.wav")),
                &out,
            )
            .expect("wav");
            dump_f0(&format!("{name}_{tname}"), &out);
        }
    }
}

fn dump_f0(name: &str, c: &SpeechChunk) {
    let f0 = f0_contour(&c.pcm, c.sample_rate).expect("f0");
    let text: Vec<String> = f0.iter().map(|v| format!("{v:.2}")).collect();
    std::fs::write(format!("/tmp/timbre/{name}.f0"), text.join("\n")).expect("write");
}
