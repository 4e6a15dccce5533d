//! The benchmark's plot: pods per second against parallelism and against Job size, two panels
//! side by side with logarithmic x axes, as a self-contained SVG file.

use std::fmt::Write;

/// One panel: a title, the x axis's name, and its points `(x, pods/s)`.
pub struct Panel<'a> {
    pub title: &'a str,
    pub x_label: &'a str,
    pub points: &'a [(f64, f64)],
    /// A horizontal reference line (value, label), e.g. the raw loop.
    pub reference: Option<(f64, &'a str)>,
}

const W: f64 = 440.0;
const H: f64 = 320.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

/// The SVG text of `panels`, side by side, under `caption`.
pub fn svg(panels: &[Panel<'_>], caption: &str) -> String {
    let width = W * panels.len() as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{}" font-family="sans-serif" font-size="12">"#,
        H + 24.0
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (i, p) in panels.iter().enumerate() {
        panel(&mut out, p, W * i as f64);
    }
    let _ = writeln!(
        out,
        r##"<text x="{}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
        width / 2.0,
        H + 16.0,
        escape(caption)
    );
    out.push_str("</svg>\n");
    out
}

fn panel(out: &mut String, p: &Panel<'_>, x0: f64) {
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let xs: Vec<f64> = p.points.iter().map(|(x, _)| x.max(1.0).log10()).collect();
    let (xmin, xmax) = (
        xs.iter().cloned().fold(f64::MAX, f64::min),
        xs.iter().cloned().fold(f64::MIN, f64::max),
    );
    let xspan = if xmax > xmin { xmax - xmin } else { 1.0 };
    let ymax_data = p
        .points
        .iter()
        .map(|(_, y)| *y)
        .chain(p.reference.map(|r| r.0))
        .fold(1.0, f64::max);
    let ymax = nice_ceiling(ymax_data * 1.1);
    let px = |lx: f64| x0 + LEFT + (lx - xmin) / xspan * pw;
    let py = |y: f64| TOP + ph - y / ymax * ph;
    let _ = writeln!(
        out,
        r#"<text x="{}" y="22" text-anchor="middle" font-weight="bold">{}</text>"#,
        x0 + LEFT + pw / 2.0,
        escape(p.title)
    );
    // Axes, grid and labels.
    for k in 0..=4 {
        let y = ymax * k as f64 / 4.0;
        let _ = writeln!(
            out,
            r##"<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="#ddd"/><text x="{3}" y="{4}" text-anchor="end">{5}</text>"##,
            x0 + LEFT,
            x0 + LEFT + pw,
            py(y),
            x0 + LEFT - 6.0,
            py(y) + 4.0,
            short(y)
        );
    }
    for (lx, (x, _)) in xs.iter().zip(p.points) {
        let _ = writeln!(
            out,
            r##"<line x1="{0}" x2="{0}" y1="{1}" y2="{2}" stroke="#ddd"/><text x="{0}" y="{3}" text-anchor="middle">{4}</text>"##,
            px(*lx),
            TOP,
            TOP + ph,
            TOP + ph + 16.0,
            short(*x)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        x0 + LEFT + pw / 2.0,
        H - 12.0,
        escape(p.x_label)
    );
    let _ = writeln!(
        out,
        r#"<text transform="translate({},{}) rotate(-90)" text-anchor="middle">pods/s</text>"#,
        x0 + 16.0,
        TOP + ph / 2.0
    );
    if let Some((value, label)) = p.reference {
        let _ = writeln!(
            out,
            r##"<line x1="{0}" x2="{1}" y1="{2}" y2="{2}" stroke="#c33" stroke-dasharray="6 4"/><text x="{3}" y="{4}" text-anchor="end" fill="#c33">{5}</text>"##,
            x0 + LEFT,
            x0 + LEFT + pw,
            py(value),
            x0 + LEFT + pw,
            py(value) - 5.0,
            escape(label)
        );
    }
    let path: Vec<String> = xs
        .iter()
        .zip(p.points)
        .map(|(lx, (_, y))| format!("{:.1},{:.1}", px(*lx), py(*y)))
        .collect();
    let _ = writeln!(
        out,
        r##"<polyline points="{}" fill="none" stroke="#1f5fbf" stroke-width="2"/>"##,
        path.join(" ")
    );
    for (lx, (_, y)) in xs.iter().zip(p.points) {
        let _ = writeln!(
            out,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="#1f5fbf"/>"##,
            px(*lx),
            py(*y)
        );
    }
}

/// The smallest 1, 2 or 5 times a power of ten at or above `v`.
fn nice_ceiling(v: f64) -> f64 {
    let p = 10f64.powf(v.max(1.0).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * p)
}

/// 1500 → "1.5k", 100000 → "100k".
fn short(v: f64) -> String {
    if v >= 1000.0 {
        let k = v / 1000.0;
        if (k - k.round()).abs() < 0.05 {
            format!("{}k", k.round())
        } else {
            format!("{k:.1}k")
        }
    } else {
        format!("{}", v.round())
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plot_has_a_point_per_figure_and_the_reference() {
        let points = [(1.0, 900.0), (16.0, 8000.0), (64.0, 15000.0)];
        let text = svg(
            &[Panel {
                title: "pods/s by parallelism",
                x_label: "parallelism",
                points: &points,
                reference: Some((40000.0, "raw loop")),
            }],
            "machine <x>",
        );
        assert!(text.starts_with("<svg"));
        assert_eq!(text.matches("<circle").count(), 3);
        assert!(text.contains("raw loop"));
        assert!(text.contains("machine &lt;x&gt;"));
        assert!(
            text.contains(">16<"),
            "the x labels are the parallelism values"
        );
    }

    #[test]
    fn axis_values_read_well() {
        assert_eq!(nice_ceiling(16_500.0), 20_000.0);
        assert_eq!(nice_ceiling(45_000.0), 50_000.0);
        assert_eq!(short(100_000.0), "100k");
        assert_eq!(short(1_500.0), "1.5k");
        assert_eq!(short(64.0), "64");
    }
}
