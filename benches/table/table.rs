//! The printed table: one row per figure, vecsfs against the baselines measured in the same
//! run, with the cost ratio (how many times slower or larger vecsfs is; below 1 is faster).

use std::fmt::Write as _;
use std::time::Duration;

/// A measured value and how to read it.
#[derive(Clone, Copy)]
pub enum Value {
    /// Less is better.
    Time(Duration),
    /// More is better (per second).
    Rate(f64, &'static str),
    /// Less is better.
    Megabytes(f64),
}

impl Value {
    fn show(self) -> String {
        match self {
            Value::Time(d) => {
                let us = d.as_secs_f64() * 1e6;
                if us < 1_000.0 {
                    format!("{us:.1} µs")
                } else if us < 1_000_000.0 {
                    format!("{:.2} ms", us / 1e3)
                } else {
                    format!("{:.2} s", us / 1e6)
                }
            }
            Value::Rate(r, unit) if r >= 10_000.0 => format!("{:.0}k {unit}", r / 1e3),
            Value::Rate(r, unit) => format!("{r:.1} {unit}"),
            Value::Megabytes(mb) => format!("{mb:.0} MB"),
        }
    }

    /// How many times costlier `self` is than `base`.
    fn cost_against(self, base: Value) -> Option<f64> {
        match (self, base) {
            (Value::Time(a), Value::Time(b)) if !b.is_zero() => {
                Some(a.as_secs_f64() / b.as_secs_f64())
            }
            (Value::Rate(a, _), Value::Rate(b, _)) if a > 0.0 => Some(b / a),
            (Value::Megabytes(a), Value::Megabytes(b)) if b > 0.0 => Some(a / b),
            _ => None,
        }
    }
}

/// A target a row is held to.
pub enum Target {
    /// Cost ratio against the named baseline at most this.
    CostAtMost(&'static str, f64),
    /// The value itself at most this (times, megabytes).
    AtMost(Value),
}

pub struct Row {
    pub measure: String,
    pub vecsfs: Value,
    pub baselines: Vec<(&'static str, Value)>,
    pub target: Option<Target>,
}

impl Row {
    pub fn new(measure: impl Into<String>, vecsfs: Value) -> Row {
        Row {
            measure: measure.into(),
            vecsfs,
            baselines: Vec::new(),
            target: None,
        }
    }

    pub fn against(mut self, name: &'static str, value: Value) -> Row {
        self.baselines.push((name, value));
        self
    }

    pub fn target(mut self, target: Target) -> Row {
        self.target = Some(target);
        self
    }

    fn target_text(&self) -> String {
        let Some(target) = &self.target else {
            return String::new();
        };
        let (text, met) = match target {
            Target::CostAtMost(name, limit) => {
                let cost = self
                    .baselines
                    .iter()
                    .find(|(n, _)| n == name)
                    .and_then(|(_, b)| self.vecsfs.cost_against(*b));
                (
                    format!("≤{limit}× {name}"),
                    cost.is_some_and(|c| c <= *limit),
                )
            }
            Target::AtMost(limit) => {
                let met = self.vecsfs.cost_against(*limit).is_some_and(|c| c <= 1.0);
                (format!("≤{}", limit.show()), met)
            }
        };
        format!("{text} {}", if met { "met" } else { "MISSED" })
    }
}

/// The table as text.
pub fn render(title: &str, rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{title}");
    let _ = writeln!(
        out,
        "{:<52} {:>12}  {:<58} target",
        "measure", "vecsfs", "baselines (cost ×)"
    );
    for row in rows {
        let baselines = row
            .baselines
            .iter()
            .map(|(name, value)| match row.vecsfs.cost_against(*value) {
                Some(c) => format!("{name} {} ({c:.2}×)", value.show()),
                None => format!("{name} {}", value.show()),
            })
            .collect::<Vec<_>>()
            .join(" · ");
        let _ = writeln!(
            out,
            "{:<52} {:>12}  {:<58} {}",
            row.measure,
            row.vecsfs.show(),
            baselines,
            row.target_text()
        );
    }
    out
}
