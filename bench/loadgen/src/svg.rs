//! A small SVG writer for the report's charts: a line chart (x numeric,
//! one series per server) and a grouped bar chart (one group per category,
//! one bar per server). Plain SVG 1.1 text, no scripts, no external fonts
//! or services; every browser and GitHub render it.

use std::fmt::Write;

const W: f64 = 720.0;
const H: f64 = 400.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;

/// Fixed colours, one per series index.
const COLOURS: [&str; 7] = [
    "#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf",
];

/// One named series of (x, y) points.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// A round step for about `n` ticks up to `max`.
fn step(max: f64, n: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let raw = max / n;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    mag * if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    }
}

/// 1234567 -> "1.2M", 2500 -> "2.5k", 0.42 -> "0.42".
pub fn human(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if a >= 1e4 {
        format!("{}k", trim(v / 1e3))
    } else if a >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn frame(o: &mut String, title: &str, x_label: &str, y_label: &str, ymax: f64) -> f64 {
    let ystep = step(ymax, 5.0);
    let ytop = (ymax / ystep).ceil().max(1.0) * ystep;
    let _ = writeln!(
        o,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"##
    );
    let _ = writeln!(o, r##"<rect width="{W}" height="{H}" fill="#ffffff"/>"##);
    let _ = writeln!(
        o,
        r##"<text x="{}" y="22" font-size="15" text-anchor="middle">{}</text>"##,
        (LEFT + W - RIGHT) / 2.0,
        esc(title)
    );
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, H - BOTTOM, TOP);
    let mut v = 0.0;
    while v <= ytop + ystep * 0.01 {
        let y = y0 - (v / ytop) * (y0 - y1);
        let _ = writeln!(
            o,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{x1}" y2="{y:.1}" stroke="#e0e0e0"/>"##
        );
        let _ = writeln!(
            o,
            r##"<text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
            x0 - 6.0,
            y + 4.0,
            human(v)
        );
        v += ystep;
    }
    let _ = writeln!(
        o,
        r##"<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#000"/>"##
    );
    let _ = writeln!(
        o,
        r##"<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="#000"/>"##
    );
    let _ = writeln!(
        o,
        r##"<text x="{}" y="{}" text-anchor="middle">{}</text>"##,
        (x0 + x1) / 2.0,
        H - 15.0,
        esc(x_label)
    );
    let _ = writeln!(
        o,
        r##"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">{}</text>"##,
        (y0 + y1) / 2.0,
        (y0 + y1) / 2.0,
        esc(y_label)
    );
    ytop
}

fn legend(o: &mut String, names: &[&str]) {
    for (i, n) in names.iter().enumerate() {
        let y = TOP + 10.0 + i as f64 * 20.0;
        let x = W - RIGHT + 15.0;
        let _ = writeln!(
            o,
            r##"<rect x="{x}" y="{}" width="12" height="12" fill="{}"/>"##,
            y - 10.0,
            COLOURS[i % COLOURS.len()]
        );
        let _ = writeln!(o, r##"<text x="{}" y="{y}">{}</text>"##, x + 18.0, esc(n));
    }
}

/// A line chart; x positions are spread evenly by rank (the sweep's counts
/// are labelled, not scaled), y from zero.
pub fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let mut xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    let ymax = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let mut o = String::new();
    let ytop = frame(&mut o, title, x_label, y_label, ymax);
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, H - BOTTOM, TOP);
    let xpos = |x: f64| {
        let i = xs.iter().position(|v| *v == x).unwrap_or(0) as f64;
        let n = xs.len().max(1) as f64;
        x0 + (i + 0.5) / n * (x1 - x0)
    };
    for &x in &xs {
        let _ = writeln!(
            o,
            r##"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"##,
            xpos(x),
            y0 + 18.0,
            human(x)
        );
    }
    for (i, s) in series.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        let pts: Vec<String> = s
            .points
            .iter()
            .map(|&(x, y)| format!("{:.1},{:.1}", xpos(x), y0 - (y / ytop) * (y0 - y1)))
            .collect();
        if pts.len() > 1 {
            let _ = writeln!(
                o,
                r##"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2"/>"##,
                pts.join(" ")
            );
        }
        for &(x, y) in &s.points {
            let (px, py) = (xpos(x), y0 - (y / ytop) * (y0 - y1));
            let _ = writeln!(
                o,
                r##"<circle cx="{px:.1}" cy="{py:.1}" r="4" fill="{c}"><title>{}: {}</title></circle>"##,
                esc(&s.name),
                human(y)
            );
        }
    }
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    legend(&mut o, &names);
    o.push_str("</svg>\n");
    o
}

/// A grouped bar chart: `values[g][s]` is series `s` in group `g` (None:
/// not measured). Each bar is labelled with its value.
pub fn bar_chart(
    title: &str,
    y_label: &str,
    groups: &[String],
    series: &[String],
    values: &[Vec<Option<f64>>],
) -> String {
    let ymax = values
        .iter()
        .flatten()
        .flatten()
        .copied()
        .fold(0.0, f64::max);
    let mut o = String::new();
    let ytop = frame(&mut o, title, "", y_label, ymax);
    let (x0, x1, y0, y1) = (LEFT, W - RIGHT, H - BOTTOM, TOP);
    let gw = (x1 - x0) / groups.len().max(1) as f64;
    let bw = (gw * 0.8) / series.len().max(1) as f64;
    for (g, name) in groups.iter().enumerate() {
        let gx = x0 + g as f64 * gw + gw * 0.1;
        let _ = writeln!(
            o,
            r##"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"##,
            x0 + (g as f64 + 0.5) * gw,
            y0 + 18.0,
            esc(name)
        );
        for s in 0..series.len() {
            let Some(v) = values.get(g).and_then(|r| r.get(s)).copied().flatten() else {
                continue;
            };
            let h = (v / ytop) * (y0 - y1);
            let x = gx + s as f64 * bw;
            let c = COLOURS[s % COLOURS.len()];
            let _ = writeln!(
                o,
                r##"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{c}"><title>{}: {}</title></rect>"##,
                y0 - h,
                bw * 0.92,
                esc(&series[s]),
                human(v)
            );
            let _ = writeln!(
                o,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{}</text>"##,
                x + bw * 0.46,
                y0 - h - 3.0,
                human(v)
            );
        }
    }
    let names: Vec<&str> = series.iter().map(|s| s.as_str()).collect();
    legend(&mut o, &names);
    o.push_str("</svg>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_labels() {
        assert_eq!(step(1_000_000.0, 5.0), 200_000.0);
        assert_eq!(step(7.3, 5.0), 2.0);
        assert_eq!(human(1_250_000.0), "1.25M");
        assert_eq!(human(25_000.0), "25k");
        assert_eq!(human(12.34), "12.34");
    }

    #[test]
    fn charts_are_svg() {
        let s = line_chart(
            "t",
            "x",
            "y",
            &[Series {
                name: "a<b".into(),
                points: vec![(1.0, 2.0), (2.0, 3.0)],
            }],
        );
        assert!(
            s.starts_with("<svg")
                && s.contains("polyline")
                && s.contains("a&lt;b")
                && s.ends_with("</svg>\n")
        );
        let b = bar_chart(
            "t",
            "y",
            &["g".into()],
            &["a".into(), "b".into()],
            &[vec![Some(1.0), None]],
        );
        assert_eq!(b.matches("<rect x=").count(), 1 + 2); // one bar + two legend swatches
    }
}
