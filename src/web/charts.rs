//! SVG drawn on the server: the 90-day uptime bar (one cell a day, coloured by its uptime,
//! with the figures in a tooltip) and the response-time chart (phases stacked). Pure:
//! numbers in, markup out.

use maud::{Markup, html};

use crate::domain::Timestamp;
use crate::store::{Day, LatencyPoint};

const DAY_MS: i64 = 86_400_000;

/// The class of a day's cell, by its uptime.
pub fn day_class(uptime: Option<f64>) -> &'static str {
    match uptime {
        None => "day-none",
        Some(p) if p >= 99.9 => "day-good",
        Some(p) if p >= 99.0 => "day-minor",
        Some(p) if p >= 95.0 => "day-major",
        Some(_) => "day-bad",
    }
}

fn date(day: i64) -> String {
    Timestamp(day * DAY_MS).to_rfc3339()[..10].to_owned()
}

/// One cell a day; `incidents(day)` tells how many outages began that day.
pub fn uptime_bar(days: &[Day], incidents: impl Fn(i64) -> usize) -> Markup {
    const CELL: usize = 8;
    const GAP: usize = 2;
    let width = days.len() * (CELL + GAP);
    html! {
        svg.bar viewBox={ "0 0 " (width) " 34" } width=(width) height="34" role="img"
            preserveAspectRatio="none"
            aria-label={ (days.len()) "-day uptime" } {
            @for (i, day) in days.iter().enumerate() {
                @let uptime = day.tally.percent();
                @let outages = incidents(day.day);
                rect class=(day_class(uptime)) x=(i * (CELL + GAP)) y="2" width=(CELL)
                    height="30" rx="1" {
                    title {
                        (date(day.day)) ": "
                        @match uptime {
                            Some(p) => { (format!("{p:.2}")) "% up, " (day.tally.probes) " probes, "
                                (day.tally.probes - day.tally.up) " failed" }
                            None => { "no data" }
                        }
                        @if outages > 0 { ", " (outages) " incident(s)" }
                    }
                }
            }
        }
    }
}

/// Response time of each bucket: stacked phases (DNS, connect, TLS, first byte), or the
/// total alone where phases are not known (`points` from rollups); a red mark under a
/// bucket with failures.
/// A span of time cut into `slots` equal slots; a point sits in the slot of its time.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub since: Timestamp,
    pub span_ms: i64,
    pub slots: i64,
}

impl Span {
    fn slot_of(self, at: Timestamp) -> f64 {
        let width = (self.span_ms / self.slots.max(1)).max(1);
        ((at.0 - self.since.0) / width).clamp(0, self.slots - 1) as f64
    }
}

pub fn latency_chart(points: &[LatencyPoint], phases: bool, span: Span) -> Markup {
    const W: f64 = 720.0;
    const H: f64 = 180.0;
    const LEFT: f64 = 44.0;
    let max = points
        .iter()
        .map(|p| if phases { stacked(p) } else { p.total_ms })
        .fold(1.0_f64, f64::max);
    let scale = nice_ceiling(max);
    let slot = (W - LEFT) / span.slots.max(1) as f64;
    let bar = (slot * 0.8).max(1.0);
    let y = |ms: f64| H - ms / scale * (H - 10.0);
    html! {
        svg.chart viewBox={ "0 0 " (W) " " (H + 20.0) } width=(W) height=(H + 20.0) role="img"
            aria-label="response time" {
            @for frac in [0.0, 0.5, 1.0] {
                @let at = y(scale * frac);
                line.grid x1=(LEFT) x2=(W) y1=(at) y2=(at) {}
                text x="0" y=(at + 4.0) { (ms_label(scale * frac)) }
            }
            @for (class, x, top, height, tip) in bars(points, phases, span, slot, &y) {
                rect class=(class) x=(x) y=(top) width=(bar) height=(height) { title { (tip) } }
            }
            @for p in points {
                @if p.tally.up < p.tally.probes {
                    rect class="down-mark" x=(LEFT + span.slot_of(p.at) * slot) y=(H + 4.0) width=(bar) height="6" {
                        title { (p.tally.probes - p.tally.up) " failed of " (p.tally.probes) }
                    }
                }
            }
        }
    }
}

/// The rectangles of the chart: `(class, x, top, height, tooltip)`.
fn bars(
    points: &[LatencyPoint],
    phases: bool,
    span: Span,
    slot: f64,
    y: &dyn Fn(f64) -> f64,
) -> Vec<(&'static str, f64, f64, f64, String)> {
    const LEFT: f64 = 44.0;
    let mut rects = Vec::new();
    for p in points {
        let x = LEFT + span.slot_of(p.at) * slot;
        let parts: Vec<(&'static str, f64)> = if phases {
            vec![
                ("dns", p.dns_ms),
                ("connect", p.connect_ms),
                ("tls", p.tls_ms),
                ("ttfb", p.ttfb_ms),
            ]
        } else {
            vec![("total", p.total_ms)]
        };
        let mut base = 0.0;
        for (class, ms) in parts {
            if ms > 0.0 {
                let top = y(base + ms);
                rects.push((class, x, top, y(base) - top, format!("{class}: {ms:.0} ms")));
            }
            base += ms;
        }
    }
    rects
}

fn ms_label(ms: f64) -> String {
    if ms > 0.0 && ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn stacked(p: &LatencyPoint) -> f64 {
    p.dns_ms + p.connect_ms + p.tls_ms + p.ttfb_ms
}

/// 1, 2 or 5 times a power of ten, at least `value`.
fn nice_ceiling(value: f64) -> f64 {
    let mut step = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if m * step >= value {
                return m * step;
            }
        }
        step *= 10.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Tally;

    #[test]
    fn day_colours_follow_uptime() {
        assert_eq!(day_class(None), "day-none");
        assert_eq!(day_class(Some(100.0)), "day-good");
        assert_eq!(day_class(Some(99.5)), "day-minor");
        assert_eq!(day_class(Some(97.0)), "day-major");
        assert_eq!(day_class(Some(50.0)), "day-bad");
    }

    #[test]
    fn the_bar_has_a_cell_and_a_tooltip_per_day() {
        let days: Vec<Day> = (0..90)
            .map(|d| Day {
                day: 20_000 + d,
                tally: Tally {
                    probes: if d == 89 { 0 } else { 100 },
                    up: if d == 5 { 90 } else { 100 },
                },
            })
            .collect();
        let svg = uptime_bar(&days, |d| usize::from(d == 20_005)).into_string();
        assert_eq!(svg.matches("<rect").count(), 90);
        assert!(
            svg.contains("90.00% up, 100 probes, 10 failed, 1 incident(s)"),
            "{svg}"
        );
        assert!(svg.contains("no data"));
    }

    #[test]
    fn scales_are_round() {
        assert_eq!(nice_ceiling(0.5), 1.0);
        assert_eq!(nice_ceiling(130.0), 200.0);
        assert_eq!(nice_ceiling(4_100.0), 5_000.0);
    }
}
