//! `vecs-cli status` (vecsfs's addition): what needs attention, for people and as JSON for
//! monitoring: certificates expired or expiring within N days, pair rotations half done, and
//! the trust sync's last run.

use std::fmt::Write as _;

use super::{print, refusal, Failure, Io};
use crate::daemon::status::now;

use crate::pki::{certificate_summary, parse_cert_chain, utc, CertSummary};
use crate::store::{Database, EntryType, Half, PendingHalf};
use crate::sync;

type Outcome = Result<(), Failure>;

/// Expiring within this many days unless `--days` says otherwise.
pub const DEFAULT_DAYS: u32 = 30;

struct Expiring {
    store: String,
    alias: String,
    summary: CertSummary,
}

pub(super) fn status(io: &mut Io, uid: u32, db: &Database, days: u32, json: bool) -> Outcome {
    let now = now() as i64;
    let horizon = now + i64::from(days) * 86_400;
    let mut expiring = Vec::new();
    for store in db.stores().map_err(refusal)? {
        // Only what the caller may read, as `entry list` would show it.
        let Ok(entries) = db.entries(uid, &store.name) else {
            continue;
        };
        for entry in entries {
            if entry.entry_type == EntryType::Crl {
                continue;
            }
            let Some(pem) = &entry.cert_pem else { continue };
            let Ok(chain) = parse_cert_chain(pem.as_bytes()) else {
                continue;
            };
            let Ok(summary) = certificate_summary(chain.leaf_der()) else {
                continue;
            };
            if summary.not_after <= horizon {
                expiring.push(Expiring {
                    store: store.name.clone(),
                    alias: entry.alias,
                    summary,
                });
            }
        }
    }
    expiring.sort_by_key(|e| e.summary.not_after);
    let pending = db.pending_halves().map_err(refusal)?;
    let trust = sync::status_lines(db).map_err(refusal)?;
    let report = Report {
        now,
        days,
        expiring,
        pending,
        trust,
    };
    print(io, &if json { report.json() } else { report.text() })
}

/// Everything `status` shows, gathered once and rendered for people or as JSON.
struct Report {
    now: i64,
    days: u32,
    expiring: Vec<Expiring>,
    pending: Vec<PendingHalf>,
    trust: Vec<(&'static str, String)>,
}

fn half_names(half: Half) -> (&'static str, &'static str) {
    match half {
        Half::Cert => ("cert.pem", "key.pem"),
        Half::Key => ("key.pem", "cert.pem"),
    }
}

impl Report {
    fn text(&self) -> String {
        let Report {
            now,
            days,
            expiring,
            pending,
            trust,
        } = self;
        let (now, days) = (*now, *days);
        let mut out = String::new();
        let _ = writeln!(out, "Certificates expired or expiring within {days} days:");
        if expiring.is_empty() {
            out.push_str("  (none)\n");
        }
        for e in expiring {
            let left = (e.summary.not_after - now) / 86_400;
            let (state, when) = if e.summary.not_after <= now {
                ("EXPIRED ", format!("{} days ago", -left))
            } else {
                ("EXPIRING", format!("in {left} days"))
            };
            let _ = writeln!(
                out,
                "  {state} {}/{}  {}  not after {} ({when})",
                e.store,
                e.alias,
                e.summary.subject,
                utc(e.summary.not_after)
            );
        }
        out.push_str("Pair rotations waiting for their second half:\n");
        if pending.is_empty() {
            out.push_str("  (none)\n");
        }
        for p in pending {
            let (written, missing) = half_names(p.half);
            let _ = writeln!(
                out,
                "  {}/{}: {written} written {}, waiting for its {missing}",
                p.store,
                p.alias,
                utc(p.since)
            );
        }
        out.push_str("Trust sync:\n");
        for (key, value) in trust {
            let _ = writeln!(out, "  {key}: {value}");
        }
        out
    }

    fn json(&self) -> String {
        let Report {
            now,
            days,
            expiring,
            pending,
            trust,
        } = self;
        let (now, days) = (*now, *days);
        let certificates: Vec<String> = expiring
        .iter()
        .map(|e| {
            format!(
                "{{\"store\":{},\"alias\":{},\"subject\":{},\"issuer\":{},\"serial\":{},\"sha1\":{},\"sha256\":{},\"not_after\":{},\"expired\":{},\"days_left\":{}}}",
                json_string(&e.store),
                json_string(&e.alias),
                json_string(&e.summary.subject),
                json_string(&e.summary.issuer),
                json_string(&e.summary.serial),
                json_string(&e.summary.sha1),
                json_string(&e.summary.sha256),
                e.summary.not_after,
                e.summary.not_after <= now,
                (e.summary.not_after - now).div_euclid(86_400)
            )
        })
        .collect();
        let pending: Vec<String> = pending
            .iter()
            .map(|p| {
                let (written, missing) = half_names(p.half);
                format!(
                    "{{\"store\":{},\"alias\":{},\"written\":{},\"waiting_for\":{},\"since\":{}}}",
                    json_string(&p.store),
                    json_string(&p.alias),
                    json_string(written),
                    json_string(missing),
                    p.since
                )
            })
            .collect();
        let trust: Vec<String> = trust
            .iter()
            .map(|(k, v)| format!("{}:{}", json_string(k), json_string(v)))
            .collect();
        format!(
        "{{\"now\":{now},\"days\":{days},\"certificates\":[{}],\"pending\":[{}],\"trust_sync\":{{{}}}}}\n",
        certificates.join(","),
        pending.join(","),
        trust.join(",")
    )
    }
}

/// A JSON string literal (RFC 8259): quotes, backslashes and control characters escaped.
fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\u0001é\"");
    }
}
