//! The soak's plot: RSS, file descriptors, threads and A/V drift over media time after the
//! warm-up (the start-up would flatten the scale), one panel each, with the faults marked;
//! drawn with plotters into a buffer, written as PNG.

use std::path::Path;

use plotters::prelude::*;

use super::{Sample, SoakError, plan::Fault};

const WIDTH: u32 = 1200;
/// A panel: its title and what it plots.
type Panel = (&'static str, fn(&Sample) -> f64);
const PANEL_HEIGHT: u32 = 230;

/// Registers a font for plotters' text (once): the first of the fonts the on-screen label
/// uses that exists, else DejaVu.
fn register_font() -> Result<(), SoakError> {
    static DONE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        let candidates = [
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
            "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        ];
        let Some(bytes) = candidates.iter().find_map(|p| std::fs::read(p).ok()) else {
            return false;
        };
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(SoakError::Plot(
            "no font for the plot: install fonts-noto-cjk or fonts-dejavu-core".into(),
        ))
    }
}

/// Draws `samples` (and `faults` as vertical lines) after the warm-up to `path`.
pub fn draw(path: &Path, samples: &[Sample], faults: &[Fault]) -> Result<(), SoakError> {
    register_font()?;
    let end = samples.last().map_or(0.0, |s| s.media_s);
    let start = super::WARMUP_SHARE * end;
    let samples: Vec<&Sample> = samples.iter().filter(|s| s.media_s >= start).collect();
    let (x_min, x_max) = (start / 3600.0, (end / 3600.0).max(start / 3600.0 + 1e-3));
    let panels: [Panel; 4] = [
        ("RSS (MiB)", |s| s.process.rss_mib),
        ("open file descriptors", |s| f64::from(s.process.fds)),
        ("threads", |s| f64::from(s.process.threads)),
        ("A/V drift at the encoder input (ms, audio - video)", |s| {
            s.av_drift_ms
        }),
    ];
    let height = PANEL_HEIGHT * panels.len() as u32;
    let mut buf = vec![0u8; (WIDTH * height * 3) as usize];
    let err = |e: &dyn std::fmt::Display| SoakError::Plot(e.to_string());
    {
        let root = BitMapBackend::with_buffer(&mut buf, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let areas = root.split_evenly((panels.len(), 1));
        for (area, (title, value)) in areas.iter().zip(panels) {
            let ys: Vec<f64> = samples.iter().map(|s| value(s)).collect();
            let (mut lo, mut hi) = ys
                .iter()
                .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
            if !lo.is_finite() || !hi.is_finite() {
                (lo, hi) = (0.0, 1.0);
            }
            let pad = ((hi - lo) * 0.1).max(1.0);
            let mut chart = ChartBuilder::on(area)
                .caption(title, ("sans-serif", 18))
                .margin(8)
                .x_label_area_size(28)
                .y_label_area_size(60)
                .build_cartesian_2d(x_min..x_max, (lo - pad)..(hi + pad))
                .map_err(|e| err(&e))?;
            chart
                .configure_mesh()
                .x_desc("media time (h), after the warm-up")
                .label_style(("sans-serif", 13))
                .draw()
                .map_err(|e| err(&e))?;
            for f in faults.iter().filter(|f| f.at >= start) {
                let x = f.at / 3600.0;
                chart
                    .draw_series(LineSeries::new(
                        [(x, lo - pad), (x, hi + pad)],
                        RGBColor(230, 120, 40).stroke_width(1),
                    ))
                    .map_err(|e| err(&e))?;
            }
            chart
                .draw_series(LineSeries::new(
                    samples
                        .iter()
                        .zip(&ys)
                        .map(|(s, y)| (s.media_s / 3600.0, *y)),
                    BLUE.stroke_width(2),
                ))
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    let file = std::fs::File::create(path).map_err(|e| SoakError::Write(path.to_path_buf(), e))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), WIDTH, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .and_then(|mut w| w.write_image_data(&buf))
        .map_err(|e| err(&e))?;
    Ok(())
}
