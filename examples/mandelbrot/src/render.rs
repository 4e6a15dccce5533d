//! The picture itself: which point of the complex plane each pixel shows, how fast that point
//! escapes, and the colour of that speed. Pure functions, the same in every pod.

/// Centre of the view: the whole set, a little left of the origin.
pub const CENTRE: (f64, f64) = (-0.75, 0.0);
/// The view spans at least this much of the real axis…
pub const SPAN_RE: f64 = 3.5;
/// …and at least this much of the imaginary axis (the larger pixel size wins, so the whole
/// set fits whatever the image's aspect ratio).
pub const SPAN_IM: f64 = 2.625;

/// Width of one pixel in the complex plane, for a `width`×`height` image.
pub fn pixel_size(width: u32, height: u32) -> f64 {
    (SPAN_RE / f64::from(width)).max(SPAN_IM / f64::from(height))
}

/// The point at the centre of pixel (`x`, `y`) of a `width`×`height` image (row 0 at the top,
/// the imaginary part growing upwards).
pub fn point(x: u32, y: u32, width: u32, height: u32) -> (f64, f64) {
    let s = pixel_size(width, height);
    let re = CENTRE.0 + (f64::from(x) + 0.5 - f64::from(width) / 2.0) * s;
    let im = CENTRE.1 - (f64::from(y) + 0.5 - f64::from(height) / 2.0) * s;
    (re, im)
}

/// How fast `c = re + im·i` escapes under `z ← z² + c`: a smooth ("normalised") iteration
/// count ≥ 0, or `None` when it has not escaped after `max_iter` steps (a point of the set).
pub fn escape(re: f64, im: f64, max_iter: u32) -> Option<f64> {
    // The main cardioid and the period-2 bulb are inside: no need to iterate.
    let q = (re - 0.25) * (re - 0.25) + im * im;
    if q * (q + (re - 0.25)) <= 0.25 * im * im || (re + 1.0) * (re + 1.0) + im * im <= 0.0625 {
        return None;
    }
    // A large bail-out radius makes the smooth count smooth.
    const BAILOUT2: f64 = 256.0 * 256.0;
    let (mut zr, mut zi) = (0.0f64, 0.0f64);
    for n in 0..max_iter {
        let (zr2, zi2) = (zr * zr, zi * zi);
        if zr2 + zi2 > BAILOUT2 {
            let log_abs = 0.5 * (zr2 + zi2).ln();
            let mu = f64::from(n) + 1.0 - (log_abs / std::f64::consts::LN_2).log2();
            return Some(mu.max(0.0));
        }
        zi = 2.0 * zr * zi + im;
        zr = zr2 - zi2 + re;
    }
    None
}

/// The palette, a cycle through deep blue, sky blue, white, orange and near-black (never
/// pure black: black is for the set).
const STOPS: [(f64, [u8; 3]); 6] = [
    (0.0, [0, 7, 100]),
    (0.16, [32, 107, 203]),
    (0.42, [237, 255, 255]),
    (0.6425, [255, 170, 0]),
    (0.8575, [0, 2, 0]),
    (1.0, [0, 7, 100]),
];

/// The colour of an escape count: black for the set, a palette colour otherwise.
pub fn colour(mu: Option<f64>) -> [u8; 3] {
    let Some(mu) = mu else {
        return [0, 0, 0];
    };
    // The square root spreads the many slow-escaping points near the set over the palette.
    let t = (mu.sqrt() * 0.25).fract();
    let i = STOPS.iter().rposition(|(at, _)| *at <= t).unwrap_or(0);
    let (a, ca) = STOPS[i];
    let (b, cb) = STOPS[(i + 1).min(STOPS.len() - 1)];
    let f = if b > a { (t - a) / (b - a) } else { 0.0 };
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    [mix(ca[0], cb[0]), mix(ca[1], cb[1]), mix(ca[2], cb[2])]
}

/// RGB pixels of `rows` rows from `first_row` on, of a `width`×`height` image; `done` is told
/// after each row how many rows are done.
pub fn render_rows(
    width: u32,
    height: u32,
    first_row: u32,
    rows: u32,
    max_iter: u32,
    mut done: impl FnMut(u32),
) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(width as usize * rows as usize * 3);
    for r in 0..rows {
        for x in 0..width {
            let (re, im) = point(x, first_row + r, width, height);
            rgb.extend_from_slice(&colour(escape(re, im, max_iter)));
        }
        done(r + 1);
    }
    rgb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_holds_the_whole_set() {
        let (left, top) = point(0, 0, 800, 600);
        let (right, bottom) = point(799, 599, 800, 600);
        assert!(left < -2.0 && right > 0.45, "{left} {right}");
        assert!(top > 1.2 && bottom < -1.2, "{top} {bottom}");
        // Square pixels, whatever the aspect ratio.
        let (a, _) = point(0, 0, 100, 600);
        let (b, _) = point(1, 0, 100, 600);
        let (_, c) = point(0, 0, 100, 600);
        let (_, d) = point(0, 1, 100, 600);
        assert!(((b - a) - (c - d)).abs() < 1e-12);
    }

    #[test]
    fn points_of_the_set_do_not_escape_and_others_do() {
        for (re, im) in [
            (-0.5, 0.0),
            (0.0, 0.0),
            (-1.0, 0.0),
            (-0.1226, 0.7449),
            (-1.76, 0.0),
        ] {
            assert_eq!(escape(re, im, 2000), None, "{re}+{im}i");
        }
        for (re, im) in [(1.0, 1.0), (-2.5, 1.3), (0.5, 0.0), (-0.75, 0.2)] {
            assert!(escape(re, im, 2000).is_some(), "{re}+{im}i");
        }
        // Slower escape near the boundary.
        assert!(escape(0.26, 0.0, 2000).unwrap() > escape(1.0, 1.0, 2000).unwrap());
    }

    #[test]
    fn the_set_is_black_and_nothing_else_is() {
        assert_eq!(colour(None), [0, 0, 0]);
        let mut distinct = std::collections::BTreeSet::new();
        for i in 0..5000 {
            let c = colour(Some(f64::from(i) * 0.05));
            assert_ne!(c, [0, 0, 0], "mu {}", f64::from(i) * 0.05);
            distinct.insert(c);
        }
        assert!(distinct.len() > 200, "{}", distinct.len());
    }

    #[test]
    fn rows_are_rendered_and_counted() {
        let mut seen = Vec::new();
        let rgb = render_rows(40, 30, 10, 3, 100, |n| seen.push(n));
        assert_eq!(rgb.len(), 40 * 3 * 3);
        assert_eq!(seen, vec![1, 2, 3]);
        assert_eq!(
            &rgb[..3],
            &colour(escape(point(0, 10, 40, 30).0, point(0, 10, 40, 30).1, 100))
        );
    }
}
