//! On-screen overlays composited onto each rendered frame on the CPU: the AI-disclosure label
//! (always on) and the product card (the product being presented, its price, and "link is up"
//! after a link push). Each is rasterized once when it changes and alpha-blended per frame over
//! its small rectangle only.

use std::path::PathBuf;

use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};

use super::RenderError;

/// Fonts with CJK coverage tried in order (Debian: fonts-noto-cjk, fonts-wqy-*).
/// `ANCHOR_FONT=/path/to/font.ttc` overrides.
const FONT_CANDIDATES: [(&str, u32); 5] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    (
        "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
        0,
    ),
];

/// Loads the first available CJK font.
pub fn load_font() -> Result<FontVec, RenderError> {
    let mut candidates: Vec<(PathBuf, u32)> = Vec::new();
    if let Some(p) = std::env::var_os("ANCHOR_FONT") {
        candidates.push((PathBuf::from(p), 0));
    }
    candidates.extend(FONT_CANDIDATES.iter().map(|(p, i)| (PathBuf::from(p), *i)));
    for (path, index) in &candidates {
        let Ok(bytes) = std::fs::read(path) else {
            continue;
        };
        match FontVec::try_from_vec_and_index(bytes, *index) {
            Ok(font) => {
                tracing::debug!(font = %path.display(), "overlay font");
                return Ok(font);
            }
            Err(e) => tracing::warn!(font = %path.display(), "unusable font: {e}"),
        }
    }
    Err(RenderError::Font(
        candidates
            .first()
            .map(|(p, _)| p.clone())
            .unwrap_or_default(),
    ))
}

/// A pre-rasterized, premultiplied RGBA patch placed at (x, y) in the frame.
#[derive(Debug, Clone)]
pub struct Overlay {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
    /// Premultiplied RGBA, 0..=255 as f32 for cheap blending.
    rgba: Vec<[f32; 4]>,
}

impl Overlay {
    /// The AI-disclosure label: a rounded dark box with an "AI" badge and the text, top-left.
    pub fn disclosure_label(text: &str, frame_w: u32, frame_h: u32, font: &FontVec) -> Overlay {
        let px = (frame_h as f32 * 0.036).max(12.0);
        let scaled = font.as_scaled(PxScale::from(px));
        let pad = (px * 0.5).round();
        let badge_w = (px * 1.9).round();
        let text_w: f32 = text
            .chars()
            .map(|c| scaled.h_advance(scaled.glyph_id(c)))
            .sum();
        let w = ((pad * 3.0 + badge_w + text_w).ceil() as u32).min(frame_w.saturating_sub(8));
        let h = (px * 1.7).ceil() as u32;
        let margin = (frame_h as f32 * 0.03).round() as u32;
        let mut patch = Canvas::new(w, h);
        patch.rounded_rect(
            0.0,
            0.0,
            w as f32,
            h as f32,
            h as f32 * 0.3,
            [0.08, 0.08, 0.12],
            0.72,
        );
        patch.rounded_rect(
            pad * 0.6,
            h as f32 * 0.18,
            badge_w,
            h as f32 * 0.64,
            h as f32 * 0.2,
            [0.98, 0.36, 0.45],
            1.0,
        );
        let base = h as f32 * 0.5 + (scaled.ascent() + scaled.descent()) * 0.5;
        let badge_px = px * 0.8;
        let badge_scaled = font.as_scaled(PxScale::from(badge_px));
        let badge_text_w: f32 = "AI"
            .chars()
            .map(|c| badge_scaled.h_advance(badge_scaled.glyph_id(c)))
            .sum();
        let badge_base = h as f32 * 0.5 + (badge_scaled.ascent() + badge_scaled.descent()) * 0.5;
        patch.text(
            font,
            badge_px,
            pad * 0.6 + (badge_w - badge_text_w) * 0.5,
            badge_base,
            "AI",
            [1.0, 1.0, 1.0],
        );
        patch.text(font, px, pad * 1.6 + badge_w, base, text, [1.0, 1.0, 1.0]);
        Overlay {
            x: margin,
            y: margin,
            w,
            h,
            rgba: patch.px,
        }
    }

    /// The product card: a rounded box bottom-left with the title, the price (large, accent
    /// color) and an optional note line ("链接已上架").
    pub fn card(card: &Card, frame_w: u32, frame_h: u32, font: &FontVec) -> Overlay {
        let title_px = (frame_h as f32 * 0.05).max(14.0);
        let price_px = title_px * 1.25;
        let note_px = title_px * 0.72;
        let pad = (title_px * 0.6).round();
        let width_of = |text: &str, px: f32| -> f32 {
            let scaled = font.as_scaled(PxScale::from(px));
            text.chars()
                .map(|c| scaled.h_advance(scaled.glyph_id(c)))
                .sum()
        };
        let mut lines: Vec<(&str, f32, [f32; 3])> = vec![(&card.title, title_px, [1.0, 1.0, 1.0])];
        if let Some(price) = &card.price {
            lines.push((price, price_px, [1.0, 0.42, 0.48]));
        }
        if let Some(note) = &card.note {
            lines.push((note, note_px, [1.0, 0.86, 0.45]));
        }
        let text_w = lines
            .iter()
            .map(|(t, px, _)| width_of(t, *px))
            .fold(0.0f32, f32::max);
        let line_h = |px: f32| px * 1.3;
        let h: f32 = pad * 2.0 + lines.iter().map(|(_, px, _)| line_h(*px)).sum::<f32>();
        let w = ((pad * 2.0 + text_w).ceil() as u32)
            .max((frame_w as f32 * 0.22) as u32)
            .min(frame_w.saturating_sub(16));
        let h = (h.ceil() as u32).min(frame_h / 2);
        let margin = (frame_h as f32 * 0.04).round() as u32;
        let mut patch = Canvas::new(w, h);
        patch.rounded_rect(0.0, 0.0, w as f32, h as f32, pad, [0.07, 0.06, 0.10], 0.78);
        // An accent bar on the left edge.
        patch.rounded_rect(
            0.0,
            pad,
            pad * 0.25,
            h as f32 - pad * 2.0,
            pad * 0.12,
            [1.0, 0.42, 0.48],
            1.0,
        );
        let mut y = pad;
        for (text, px, rgb) in &lines {
            let scaled = font.as_scaled(PxScale::from(*px));
            let baseline = y + line_h(*px) * 0.5 + (scaled.ascent() + scaled.descent()) * 0.5;
            patch.text(font, *px, pad, baseline, text, *rgb);
            y += line_h(*px);
        }
        Overlay {
            x: margin,
            y: frame_h.saturating_sub(h + margin),
            w,
            h,
            rgba: patch.px,
        }
    }

    /// Blends the overlay onto an RGBA8 frame of `frame_w` pixels per row.
    pub fn apply(&self, frame: &mut [u8], frame_w: u32, frame_h: u32) {
        for row in 0..self.h.min(frame_h.saturating_sub(self.y)) {
            for col in 0..self.w.min(frame_w.saturating_sub(self.x)) {
                let [r, g, b, a] = self.rgba[(row * self.w + col) as usize];
                if a <= 0.0 {
                    continue;
                }
                let i = (((self.y + row) * frame_w + self.x + col) * 4) as usize;
                let Some(px) = frame.get_mut(i..i + 3) else {
                    continue;
                };
                let inv = 1.0 - a / 255.0;
                px[0] = (r + f32::from(px[0]) * inv).clamp(0.0, 255.0) as u8;
                px[1] = (g + f32::from(px[1]) * inv).clamp(0.0, 255.0) as u8;
                px[2] = (b + f32::from(px[2]) * inv).clamp(0.0, 255.0) as u8;
            }
        }
    }
}

/// What the product card shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// The product name (or a status such as "休息中").
    pub title: String,
    /// As shown: "¥99.9".
    pub price: Option<String>,
    /// A small line under it: "链接已上架，点击下方购物车".
    pub note: Option<String>,
}

/// A small premultiplied RGBA canvas.
struct Canvas {
    w: u32,
    h: u32,
    px: Vec<[f32; 4]>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Canvas {
        Canvas {
            w,
            h,
            px: vec![[0.0; 4]; (w * h) as usize],
        }
    }

    /// Source-over blend of a straight-alpha color with coverage `a` in `[0, 1]`.
    fn blend(&mut self, x: u32, y: u32, rgb: [f32; 3], a: f32) {
        if x >= self.w || y >= self.h || a <= 0.0 {
            return;
        }
        let p = &mut self.px[(y * self.w + x) as usize];
        let a = a.min(1.0);
        for c in 0..3 {
            p[c] = rgb[c] * 255.0 * a + p[c] * (1.0 - a);
        }
        p[3] = 255.0 * a + p[3] * (1.0 - a);
    }

    fn rounded_rect(
        &mut self,
        x0: f32,
        y0: f32,
        w: f32,
        h: f32,
        r: f32,
        rgb: [f32; 3],
        alpha: f32,
    ) {
        for y in y0.floor() as u32..(y0 + h).ceil() as u32 {
            for x in x0.floor() as u32..(x0 + w).ceil() as u32 {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                let dx = (x0 + r - px).max(px - (x0 + w - r)).max(0.0);
                let dy = (y0 + r - py).max(py - (y0 + h - r)).max(0.0);
                let d = (dx * dx + dy * dy).sqrt() - r;
                let cover = (0.5 - d).clamp(0.0, 1.0);
                self.blend(x, y, rgb, cover * alpha);
            }
        }
    }

    fn text(&mut self, font: &FontVec, px: f32, x: f32, baseline: f32, text: &str, rgb: [f32; 3]) {
        let scaled = font.as_scaled(PxScale::from(px));
        let mut caret = x;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            let glyph = id.with_scale_and_position(px, point(caret, baseline));
            caret += scaled.h_advance(id);
            if let Some(outlined) = font.outline_glyph(glyph) {
                let b = outlined.px_bounds();
                outlined.draw(|gx, gy, cov| {
                    let (fx, fy) = (b.min.x + gx as f32, b.min.y + gy as f32);
                    if fx >= 0.0 && fy >= 0.0 {
                        self.blend(fx as u32, fy as u32, rgb, cov);
                    }
                });
            }
        }
    }
}
