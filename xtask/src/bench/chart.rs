//! Line charts written by hand as plain SVG: a log x axis (store or file size), a linear
//! y axis from zero, one line per series with a legend, and an optional target line.
//!
//! No plotting crate, no fonts, no scripts: the files are small, stable across runs of
//! the same data (so a re-render diffs cleanly), and readable where GitHub shows them,
//! as images on a light background (the chart paints its own white background, so a
//! dark theme shows it as a white card).

use std::fmt::Write as _;

/// One line of the chart.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub(crate) name: String,
    /// (x, y) pairs; x must be positive (log axis). Drawn in x order.
    pub(crate) points: Vec<(f64, f64)>,
}

/// A horizontal reference line, e.g. a target the measurement should meet.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) y: f64,
    pub(crate) label: String,
}

/// Everything one chart shows.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    pub(crate) title: String,
    pub(crate) subtitle: String,
    pub(crate) x_label: String,
    pub(crate) y_label: String,
    pub(crate) series: Vec<Series>,
    pub(crate) target: Option<Target>,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 92.0;
const RIGHT: f64 = WIDTH - 32.0;
const TOP: f64 = 96.0;
const BOTTOM: f64 = HEIGHT - 72.0;
const FONT: &str = "Helvetica, Arial, sans-serif";
const INK: &str = "#1f2328";
const MUTED: &str = "#59636e";
const GRID: &str = "#d1d9e0";
/// Series colours (blue, orange, green), told apart without colour too: the first
/// series is solid with circles, the others dashed with squares and triangles.
const COLOURS: [&str; 3] = ["#0b5cad", "#c2410c", "#15803d"];

impl Chart {
    /// The chart as a standalone SVG document (ends with a newline).
    pub(crate) fn svg(&self) -> String {
        let xs: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .filter(|x| *x > 0.0)
            .collect();
        let ys = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .chain(self.target.iter().map(|t| t.y));
        let x_axis = LogAxis::new(&xs);
        let y_axis = LinearAxis::new(ys.fold(0.0, f64::max));

        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="{FONT}" role="img" aria-label="{}">"#,
            escape(&self.title)
        );
        let _ = writeln!(out, "<title>{}</title>", escape(&self.title));
        let _ = writeln!(
            out,
            r##"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##
        );
        let _ = writeln!(
            out,
            r#"<text x="{LEFT}" y="28" font-size="17" font-weight="bold" fill="{INK}">{}</text>"#,
            escape(&self.title)
        );
        let _ = writeln!(
            out,
            r#"<text x="{LEFT}" y="48" font-size="12" fill="{MUTED}">{}</text>"#,
            escape(&self.subtitle)
        );
        self.legend(&mut out);

        // Grid and y ticks.
        for &value in &y_axis.ticks {
            let y = y_axis.position(value);
            let _ = writeln!(
                out,
                r#"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}" stroke="{GRID}" stroke-width="1"/>"#
            );
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" font-size="12" fill="{INK}" text-anchor="end">{}</text>"#,
                LEFT - 8.0,
                y + 4.0,
                escape(&y_axis.label(value))
            );
        }
        // x ticks: labelled decades (or the data's own x values), unlabelled minor ticks.
        for &value in &x_axis.minor {
            let x = x_axis.position(value);
            let _ = writeln!(
                out,
                r#"<line x1="{x:.1}" y1="{BOTTOM}" x2="{x:.1}" y2="{:.1}" stroke="{MUTED}" stroke-width="1"/>"#,
                BOTTOM + 4.0
            );
        }
        for &value in &x_axis.ticks {
            let x = x_axis.position(value);
            let _ = writeln!(
                out,
                r#"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{BOTTOM}" stroke="{GRID}" stroke-width="1"/>"#
            );
            let _ = writeln!(
                out,
                r#"<line x1="{x:.1}" y1="{BOTTOM}" x2="{x:.1}" y2="{:.1}" stroke="{INK}" stroke-width="1"/>"#,
                BOTTOM + 7.0
            );
            let _ = writeln!(
                out,
                r#"<text x="{x:.1}" y="{:.1}" font-size="12" fill="{INK}" text-anchor="middle">{}</text>"#,
                BOTTOM + 22.0,
                escape(&number(value, 0))
            );
        }
        // Axes.
        let _ = writeln!(
            out,
            r#"<line x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}" stroke="{INK}" stroke-width="1.2"/>"#
        );
        let _ = writeln!(
            out,
            r#"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{BOTTOM}" stroke="{INK}" stroke-width="1.2"/>"#
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" font-size="13" fill="{INK}" text-anchor="middle">{}</text>"#,
            (LEFT + RIGHT) / 2.0,
            HEIGHT - 24.0,
            escape(&self.x_label)
        );
        let middle = (TOP + BOTTOM) / 2.0;
        let _ = writeln!(
            out,
            r#"<text x="20" y="{middle:.1}" font-size="13" fill="{INK}" text-anchor="middle" transform="rotate(-90 20 {middle:.1})">{}</text>"#,
            escape(&self.y_label)
        );

        if let Some(target) = &self.target {
            let y = y_axis.position(target.y);
            let _ = writeln!(
                out,
                r#"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}" stroke="{INK}" stroke-width="1.2" stroke-dasharray="2 3"/>"#
            );
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" font-size="12" fill="{INK}" text-anchor="end">{}</text>"#,
                RIGHT - 4.0,
                y - 5.0,
                escape(&target.label)
            );
        }

        for (index, series) in self.series.iter().enumerate() {
            let colour = COLOURS[index % COLOURS.len()];
            let mut points: Vec<(f64, f64)> = series
                .points
                .iter()
                .copied()
                .filter(|p| p.0 > 0.0)
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            let path: Vec<String> = points
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", x_axis.position(x), y_axis.position(y)))
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2.2"{}/>"#,
                path.join(" "),
                dash(index)
            );
            for &(x, y) in &points {
                let (px, py) = (x_axis.position(x), y_axis.position(y));
                out.push_str(&marker(index, px, py, colour));
                let _ = writeln!(
                    out,
                    r#"<text x="{px:.1}" y="{:.1}" font-size="11" fill="{colour}" text-anchor="middle">{}</text>"#,
                    py - 9.0,
                    escape(&number(y, if y >= 100.0 { 0 } else { 2 }))
                );
            }
        }
        out.push_str("</svg>\n");
        out
    }

    fn legend(&self, out: &mut String) {
        // About 6.5 px per character at 12 px.
        let width = |series: &Series| 36.0 + 6.5 * series.name.chars().count() as f64;
        // Entries left to right, onto a second row when the first is full.
        let mut rows: Vec<Vec<usize>> = vec![Vec::new()];
        let mut x = LEFT;
        for (index, series) in self.series.iter().enumerate() {
            let row = rows.last_mut().expect("one row at least");
            if !row.is_empty() && x + width(series) > RIGHT {
                rows.push(Vec::new());
                x = LEFT;
            }
            rows.last_mut().expect("one row at least").push(index);
            x += width(series) + 24.0;
        }
        // One row sits where it always did; two share the space above the plot.
        let (first_y, step) = if rows.len() == 1 {
            (72.0, 0.0)
        } else {
            (64.0, 18.0)
        };
        for (row_index, row) in rows.iter().enumerate() {
            let y = first_y + step * row_index as f64;
            let mut x = LEFT;
            for &index in row {
                let series = &self.series[index];
                let colour = COLOURS[index % COLOURS.len()];
                let _ = writeln!(
                    out,
                    r#"<line x1="{x:.1}" y1="{y}" x2="{:.1}" y2="{y}" stroke="{colour}" stroke-width="2.2"{}/>"#,
                    x + 28.0,
                    dash(index)
                );
                out.push_str(&marker(index, x + 14.0, y, colour));
                let _ = writeln!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" font-size="12" fill="{INK}">{}</text>"#,
                    x + 36.0,
                    y + 4.0,
                    escape(&series.name)
                );
                x += width(series) + 24.0;
            }
        }
    }
}

fn dash(index: usize) -> &'static str {
    if index == 0 {
        ""
    } else {
        r#" stroke-dasharray="7 4""#
    }
}

fn marker(index: usize, x: f64, y: f64, colour: &str) -> String {
    match index % 3 {
        0 => format!(
            r##"<circle cx="{x:.1}" cy="{y:.1}" r="4.5" fill="#ffffff" stroke="{colour}" stroke-width="2"/>
"##
        ),
        1 => format!(
            r##"<rect x="{:.1}" y="{:.1}" width="8" height="8" fill="#ffffff" stroke="{colour}" stroke-width="2"/>
"##,
            x - 4.0,
            y - 4.0
        ),
        _ => format!(
            r##"<polygon points="{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}" fill="#ffffff" stroke="{colour}" stroke-width="2"/>
"##,
            x,
            y - 5.0,
            x - 5.0,
            y + 4.0,
            x + 5.0,
            y + 4.0
        ),
    }
}

/// A base-10 logarithmic axis over the data, a little wider than it so that no point
/// sits on the frame.
struct LogAxis {
    low: f64,
    high: f64,
    ticks: Vec<f64>,
    minor: Vec<f64>,
}

impl LogAxis {
    fn new(xs: &[f64]) -> Self {
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = xs.iter().copied().fold(0.0, f64::max);
        let (min, max) = if min.is_finite() && max > 0.0 {
            (min.log10(), max.log10())
        } else {
            (0.0, 1.0)
        };
        let pad = if max - min < 0.5 { 0.3 } else { 0.15 };
        let (low, high) = (min - pad, max + pad);
        let mut ticks = Vec::new();
        let mut minor = Vec::new();
        for decade in low.floor() as i32..=high.ceil() as i32 {
            let base = 10f64.powi(decade);
            for step in 1..10 {
                let value = base * f64::from(step);
                let log = value.log10();
                if log < low || log > high {
                    continue;
                }
                if step == 1 {
                    ticks.push(value);
                } else {
                    minor.push(value);
                }
            }
        }
        // Fewer than two decades in view say little: label the data's own x values.
        if ticks.len() < 2 {
            ticks = xs.to_vec();
            ticks.sort_by(f64::total_cmp);
            ticks.dedup();
        }
        Self {
            low,
            high,
            ticks,
            minor,
        }
    }

    fn position(&self, x: f64) -> f64 {
        LEFT + (x.log10() - self.low) / (self.high - self.low) * (RIGHT - LEFT)
    }
}

/// A linear axis from zero to a round number above the data, in at most seven steps of
/// 1, 2, 2.5 or 5 times a power of ten.
struct LinearAxis {
    high: f64,
    ticks: Vec<f64>,
    /// Decimals that tell the tick labels apart.
    decimals: usize,
}

impl LinearAxis {
    fn new(max: f64) -> Self {
        let max = if max > 0.0 { max * 1.08 } else { 1.0 };
        let magnitude = 10f64.powf((max / 7.0).log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .into_iter()
            .map(|f| f * magnitude)
            .find(|step| (max / step).ceil() <= 7.0)
            .unwrap_or(10.0 * magnitude);
        let count = (max / step).ceil() as usize;
        let ticks = (0..=count).map(|i| step * i as f64).collect();
        let decimals = (0..6)
            .find(|&d| {
                let scaled = step * 10f64.powi(d);
                (scaled - scaled.round()).abs() < 1e-6
            })
            .unwrap_or(6) as usize;
        Self {
            high: step * count as f64,
            ticks,
            decimals,
        }
    }

    fn position(&self, y: f64) -> f64 {
        BOTTOM - y / self.high * (BOTTOM - TOP)
    }

    fn label(&self, value: f64) -> String {
        number(value, self.decimals)
    }
}

/// `120000` -> `120 000`, `3.34` with 2 decimals -> `3.34`; at least 1 000, no decimals.
fn number(value: f64, decimals: usize) -> String {
    if value.abs() >= 1000.0 || decimals == 0 {
        thousands(value.round().max(0.0) as u64)
    } else {
        format!("{value:.decimals$}")
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A small well-formedness check for the SVG this module writes: every tag closed in
/// order, attribute quotes balanced, no bare `&` or `<` in text. Not an XML parser:
/// it knows no DOCTYPE or CDATA, which the charts never contain.
/// `1234567` -> `1 234 567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
pub(crate) fn check_well_formed(svg: &str) -> Result<(), String> {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        check_text(&rest[..start])?;
        rest = &rest[start..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            let end = comment.find("-->").ok_or("unclosed comment")?;
            rest = &comment[end + 3..];
            continue;
        }
        let end = tag_end(rest).ok_or_else(|| format!("unclosed tag at {rest:.40}"))?;
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match open.pop() {
                Some(expected) if expected == name.trim() => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
        } else if tag.starts_with('?') {
            continue;
        } else {
            let name = tag
                .split(|c: char| c.is_whitespace() || c == '/')
                .next()
                .unwrap_or("");
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == ':') {
                return Err(format!("bad tag name in <{tag:.40}>"));
            }
            if !tag.matches('"').count().is_multiple_of(2) {
                return Err(format!("unbalanced quotes in <{tag:.40}>"));
            }
            if !tag.ends_with('/') {
                open.push(name);
            }
        }
        if open.is_empty() && !rest.trim().is_empty() {
            return Err("content after the root element".into());
        }
    }
    check_text(rest)?;
    match open.last() {
        Some(name) => Err(format!("<{name}> is never closed")),
        None => Ok(()),
    }
}

/// Where the tag starting at `text[0]` ends, skipping `>` inside quoted attributes.
#[cfg(test)]
fn tag_end(text: &str) -> Option<usize> {
    let mut quoted = false;
    for (index, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '>' if !quoted => return Some(index),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
fn check_text(text: &str) -> Result<(), String> {
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        let entity = &rest[at..];
        let end = entity.find(';').ok_or("a bare & in text")?;
        if !matches!(
            &entity[..=end],
            "&amp;" | "&lt;" | "&gt;" | "&quot;" | "&apos;"
        ) {
            return Err(format!("unknown entity {}", &entity[..=end]));
        }
        rest = &entity[end + 1..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Chart {
        Chart {
            title: "Requests per second <against> store size".into(),
            subtitle: "SQLite & a fixture".into(),
            x_label: "accounts in the store (log scale)".into(),
            y_label: "requests per second".into(),
            series: vec![
                Series {
                    name: "service".into(),
                    points: vec![
                        (1_000.0, 20_559.0),
                        (100_000.0, 21_448.0),
                        (1_000_000.0, 21_745.0),
                    ],
                },
                Series {
                    name: "ceiling".into(),
                    points: vec![
                        (1_000.0, 104_808.0),
                        (100_000.0, 120_176.0),
                        (1_000_000.0, 121_179.0),
                    ],
                },
            ],
            target: Some(Target {
                y: 10.0,
                label: "target".into(),
            }),
        }
    }

    #[test]
    fn a_chart_is_a_well_formed_svg_with_its_series_axes_and_labels() {
        let svg = fixture().svg();
        check_well_formed(&svg).unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        for text in [
            ">service<",
            ">ceiling<",
            ">accounts in the store (log scale)<",
            ">requests per second<",
            "Requests per second &lt;against&gt; store size",
            "SQLite &amp; a fixture",
            ">target<",
            // Decades on the x axis, round numbers on the y axis.
            ">1 000<",
            ">10 000<",
            ">1 000 000<",
            ">120 000<",
            // A value label on a point.
            ">21 745<",
        ] {
            assert!(svg.contains(text), "{text} is missing from\n{svg}");
        }
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    #[test]
    fn one_point_per_series_still_makes_a_chart() {
        let mut chart = fixture();
        for series in &mut chart.series {
            series.points.truncate(1);
        }
        chart.target = None;
        let svg = chart.svg();
        check_well_formed(&svg).unwrap();
        assert!(svg.contains(">1 000<"), "{svg}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    #[test]
    fn the_well_formedness_check_finds_what_it_is_for() {
        assert!(check_well_formed("<svg><g></svg>").is_err());
        assert!(check_well_formed("<svg><text>a & b</text></svg>").is_err());
        assert!(check_well_formed("<svg><rect x=\"1/></svg>").is_err());
        assert!(check_well_formed("<svg/><svg/>").is_err());
        assert!(check_well_formed("<svg><g/><text>a &amp; b</text></svg>\n").is_ok());
    }

    #[test]
    fn axis_steps_are_round_numbers() {
        assert_eq!(LinearAxis::new(121_179.0).ticks.last(), Some(&140_000.0));
        assert_eq!(
            LinearAxis::new(10.0).ticks,
            [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
        );
        let small = LinearAxis::new(1.2);
        assert_eq!((small.decimals, small.label(0.2)), (1, "0.2".to_owned()));
        let quarter = LinearAxis::new(1.5);
        assert_eq!(
            (quarter.decimals, quarter.label(0.25)),
            (2, "0.25".to_owned())
        );
    }
}
