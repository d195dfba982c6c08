//! Figure helpers shared by the `mf` binary (`mf robustness`) and xtask (Fig. 6): text drawn in an embedded font
//! onto a plotters drawing area, and round axis ticks with their labels.

#![forbid(unsafe_code)]

use std::sync::OnceLock;

use ab_glyph::{point, Font, FontRef, PxScale, ScaleFont};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Why text could not be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// The embedded font did not parse.
    #[error("the embedded Noto Sans font could not be read")]
    Font,
    /// The drawing backend refused a pixel.
    #[error("could not draw `{text}`: {msg}")]
    Draw {
        /// The text being drawn.
        text: String,
        /// The backend's message.
        msg: String,
    },
}

/// Noto Sans Regular, embedded so that figures look the same on every machine and the build needs no system
/// font library.
pub fn font() -> Result<&'static FontRef<'static>, PlotError> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(notosans::REGULAR_TTF).ok())
        .as_ref()
        .ok_or(PlotError::Font)
}

/// Horizontal placement of a label relative to its anchor point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// The text starts at the anchor.
    Left,
    /// The text is centred on the anchor.
    Center,
    /// The text ends at the anchor.
    Right,
}

/// Draws `text` at `size` pixels in `color`, with its vertical middle at `y` and its left end, centre or right
/// end at `x`.
///
/// ab_glyph supplies the glyphs, their advances, kerning and anti-aliased coverage. plotters' own ab_glyph text
/// path is not used: it places each glyph at the pen position without its left side bearing, so letters are
/// unevenly spaced.
pub fn draw_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    (x, y): (i32, i32),
    size: f32,
    align: Align,
    color: RGBColor,
) -> Result<(), PlotError> {
    let font = font()?;
    let scaled = font.as_scaled(PxScale::from(size));
    let mut pen = 0.0f32;
    let mut previous = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = previous {
            pen += scaled.kern(p, id);
        }
        glyphs.push((id, pen));
        pen += scaled.h_advance(id);
        previous = Some(id);
    }
    let left = x as f32
        - match align {
            Align::Left => 0.0,
            Align::Center => pen / 2.0,
            Align::Right => pen,
        };
    // The middle of the line, halfway from ascent to descent, lies on `y`.
    let baseline = y as f32 + (scaled.ascent() + scaled.descent()) / 2.0;
    for (id, dx) in glyphs {
        let glyph = id.with_scale_and_position(scaled.scale(), point(left + dx, baseline));
        // A space has no outline.
        let Some(outline) = font.outline_glyph(glyph) else {
            continue;
        };
        let corner = outline.px_bounds().min;
        let mut drawn = Ok(());
        outline.draw(|gx, gy, coverage| {
            if drawn.is_ok() && coverage > 0.0 {
                let p = (corner.x as i32 + gx as i32, corner.y as i32 + gy as i32);
                drawn = area.draw_pixel(p, &color.mix(f64::from(coverage.min(1.0))));
            }
        });
        drawn.map_err(|e| PlotError::Draw {
            text: text.to_string(),
            msg: e.to_string(),
        })?;
    }
    Ok(())
}

/// Tick positions over `[lo, hi]` at a step of 1, 2 or 5 times a power of ten, about `per_axis` of them; and the
/// step.
pub fn ticks(lo: f64, hi: f64, per_axis: f64) -> (Vec<f64>, f64) {
    let raw = (hi - lo) / per_axis;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    ((first..=last).map(|k| k as f64 * step).collect(), step)
}

/// A tick label with as many decimals as the step needs.
pub fn tick_label(v: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let s = format!("{v:.decimals$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        "0".into()
    } else {
        s
    }
}

/// Shortest form of a value: as Rust writes it, or with 4 decimals when that is longer than 8 characters.
pub fn num(v: f64) -> String {
    let s = format!("{v}");
    if s.len() > 8 {
        format!("{v:.4}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_use_round_steps_inside_the_range() {
        let (t, step) = ticks(-1.1, 1.1, 5.0);
        assert_eq!(step, 0.5);
        assert_eq!(t, vec![-1.0, -0.5, 0.0, 0.5, 1.0]);
        let (t, step) = ticks(0.7, 0.96, 8.0);
        assert_eq!(step, 0.05);
        assert!(t.iter().all(|v| (0.7..=0.96).contains(v)));
        assert_eq!(tick_label(-0.0, 0.5), "0");
        assert_eq!(tick_label(0.25, 0.05), "0.25");
        assert_eq!(num(0.1), "0.1");
        assert_eq!(num(1.0 / 3.0), "0.3333");
    }

    #[test]
    fn text_leaves_ink_around_its_anchor() {
        let mut buf = vec![255u8; 200 * 60 * 3];
        {
            let area = BitMapBackend::with_buffer(&mut buf, (200, 60)).into_drawing_area();
            draw_text(&area, "Re", (100, 30), 22.0, Align::Center, BLACK).unwrap();
            area.present().unwrap();
        }
        let dark: Vec<usize> = (0..200 * 60).filter(|i| buf[3 * i] < 128).collect();
        assert!(!dark.is_empty());
        assert!(dark
            .iter()
            .all(|i| (80..120).contains(&(i % 200)) && (15..45).contains(&(i / 200))));
    }
}
