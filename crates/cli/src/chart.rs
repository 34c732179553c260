//! `--svg FILE`: the histogram (stacked by `--by` values) and the counts by field as an SVG chart,
//! drawn with plotters (its SVG backend: text is left to the viewer's fonts, nothing is
//! embedded or fetched).

use anyhow::Context;
use plotters::prelude::*;
use serde_json::Value as Json;

use crate::report::{Counts, Histogram};

const WIDTH: u32 = 1000;
const PANEL: u32 = 380;

/// Colours of the series (the last two: "other" in grey, "missing" in light grey).
const PALETTE: [RGBColor; 7] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(23, 190, 207),
    RGBColor(120, 120, 120),
    RGBColor(200, 200, 200),
];

/// One chart per part asked for, stacked: the histogram above, the counts below.
pub fn svg(histogram: Option<&Histogram>, counts: Option<&Counts>) -> anyhow::Result<String> {
    let panels = u32::from(histogram.is_some()) + u32::from(counts.is_some());
    anyhow::ensure!(panels > 0, "--svg needs --histogram or --count-by (there is nothing else to draw)");
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, PANEL * panels)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
        let areas = root.split_evenly((panels as usize, 1));
        let mut areas = areas.iter();
        if let Some(h) = histogram {
            let area = areas.next().context("no room for the histogram")?;
            draw_histogram(area, h).context("drawing the histogram")?;
        }
        if let Some(c) = counts {
            let area = areas.next().context("no room for the counts")?;
            draw_counts(area, c).context("drawing the counts")?;
        }
        root.present().map_err(|e| anyhow::anyhow!("drawing: {e}"))?;
    }
    Ok(out)
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// The series of a histogram: its `--by` values in order, then "other" and "missing"; one
/// unnamed series when it is not split.
fn series(h: &Histogram) -> Vec<String> {
    let Some(first) = h.buckets.first() else { return vec![] };
    if first.by.is_empty() {
        return vec![String::new()];
    }
    let mut names: Vec<String> =
        first.by.keys().filter(|k| *k != "other" && *k != "missing").cloned().collect();
    names.push("other".into());
    names.push("missing".into());
    names
}

fn draw_histogram<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    h: &Histogram,
) -> anyhow::Result<()> {
    let n = h.buckets.len().max(1);
    let max = h.buckets.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let step = i64::try_from(h.interval_secs).unwrap_or(i64::MAX);
    let t0 = h.buckets.first().map(|b| b.start.timestamp()).unwrap_or(0);
    let caption = match &h.by {
        Some(by) => format!("events per {} by {by}", crate::run::show_secs(h.interval_secs)),
        None => format!("events per {}", crate::run::show_secs(h.interval_secs)),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..n as f64, 0f64..(max as f64 * 1.08))
        .map_err(err)?;
    let label = |x: &f64| {
        let t = t0.saturating_add((*x as i64).saturating_mul(step));
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| {
                if step >= 86_400 {
                    d.format("%m-%d").to_string()
                } else {
                    d.format("%m-%d %H:%M").to_string()
                }
            })
            .unwrap_or_default()
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(8)
        .x_label_formatter(&label)
        .y_desc("events")
        .draw()
        .map_err(err)?;
    let names = series(h);
    for (i, name) in names.iter().enumerate() {
        let colour = PALETTE[if name == "missing" {
            6
        } else if name == "other" {
            5
        } else {
            i % 5
        }];
        let rects = h.buckets.iter().enumerate().filter_map(|(x, b)| {
            // Stacked: this series sits on the ones before it.
            let value = |n: &str| {
                if n.is_empty() {
                    b.count
                } else {
                    b.by.get(n).and_then(Json::as_u64).unwrap_or(0)
                }
            };
            let below: u64 = names[..i].iter().map(|n| value(n)).sum();
            let here = value(name);
            (here > 0).then(|| {
                Rectangle::new(
                    [(x as f64 + 0.08, below as f64), (x as f64 + 0.92, (below + here) as f64)],
                    colour.filled(),
                )
            })
        });
        let drawn = chart.draw_series(rects).map_err(err)?;
        if !name.is_empty() {
            drawn
                .label(name.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled()));
        }
    }
    if names.len() > 1 {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.95))
            .border_style(BLACK.mix(0.3))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

fn draw_counts<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    c: &Counts,
) -> anyhow::Result<()> {
    let mut rows: Vec<(String, u64, RGBColor)> = c
        .rows
        .iter()
        .map(|r| {
            let v = match &r.value {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            };
            (crate::table::cut(&v, 60), r.count, PALETTE[0])
        })
        .collect();
    if c.other > 0 {
        rows.push(("(other)".into(), c.other, PALETTE[5]));
    }
    if c.missing > 0 {
        rows.push(("(missing)".into(), c.missing, PALETTE[6]));
    }
    let rows: Vec<_> = rows.into_iter().take(20).collect();
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(format!("events by {} ({} in all)", c.field, c.total), ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(0)
        .build_cartesian_2d(0f64..(max as f64 * 1.35), 0f64..rows.len().max(1) as f64)
        .map_err(err)?;
    chart.configure_mesh().disable_y_mesh().disable_y_axis().x_desc("events").draw().map_err(err)?;
    let n = rows.len();
    chart
        .draw_series(rows.iter().enumerate().map(|(i, (_, count, colour))| {
            let y = (n - 1 - i) as f64;
            Rectangle::new([(0.0, y + 0.15), (*count as f64, y + 0.85)], colour.filled())
        }))
        .map_err(err)?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, (label, count, _))| {
            let y = (n - 1 - i) as f64;
            let share = if c.total > 0 { *count as f64 * 100.0 / c.total as f64 } else { 0.0 };
            Text::new(
                format!("{label}  {count} ({share:.1}%)"),
                (*count as f64 + max as f64 * 0.01, y + 0.65),
                ("sans-serif", 13),
            )
        }))
        .map_err(err)?;
    Ok(())
}
