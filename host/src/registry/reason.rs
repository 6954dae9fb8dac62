//! The words of a refusal: one paragraph that names every failed scenario
//! with its first differences (field, expected, got) or its failure,
//! folded onto one line, for the log, the store's history and `hellowatt
//! status`. The full `guest check` report goes to the log beside it.

use crate::registry::check::ScenarioResult;

/// Differences quoted per failed scenario in a refusal reason, when few
/// scenarios failed (the log and the verdict's report have them all); one
/// each when more did.
const MAX_DIFFERENCES_QUOTED: usize = 3;
/// More failed scenarios than this: one difference quoted each.
const FEW_FAILURES: usize = 3;
/// A refusal reason longer than this (in characters) is cut, pointing to
/// the log's full report.
const MAX_REASON_CHARS: usize = 3000;

/// One paragraph naming every failed scenario, its first differences
/// (field, expected, got) or its failure; scenarios that failed the same
/// way share one entry.
pub(super) fn summarize(results: &[ScenarioResult]) -> String {
    let failed: Vec<&ScenarioResult> = results.iter().filter(|r| !r.passed()).collect();
    let mut out = format!(
        "failed {} of {} fixture scenarios: ",
        failed.len(),
        results.len()
    );
    let quoted = if failed.len() > FEW_FAILURES {
        1
    } else {
        MAX_DIFFERENCES_QUOTED
    };
    let mut entries: Vec<(Vec<&str>, String)> = Vec::new();
    for r in &failed {
        let mut parts: Vec<String> = Vec::new();
        if let Some(f) = &r.failure {
            parts.push(one_line(f));
        }
        parts.extend(r.differences.iter().take(quoted).map(|d| d.to_string()));
        if r.differences.len() > quoted {
            parts.push(format!(
                "and {} more difference(s)",
                r.differences.len() - quoted
            ));
        }
        if parts.is_empty() {
            parts.extend(r.denied.iter().map(|d| format!("denied {d}")));
        }
        let text = parts.join(", ");
        match entries.iter_mut().find(|(_, t)| *t == text) {
            Some((names, _)) => names.push(&r.name),
            None => entries.push((vec![&r.name], text)),
        }
    }
    let entries: Vec<String> = entries
        .into_iter()
        .map(|(names, text)| format!("[{}] {text}", names.join(", ")))
        .collect();
    out.push_str(&entries.join("; "));
    if let Some((cut, _)) = out.char_indices().nth(MAX_REASON_CHARS) {
        out.truncate(cut);
        out.push_str("… (cut: the log has the full report)");
    }
    out
}

/// A failure on one line, without wasm backtrace frames (`N: 0x… - name`);
/// what an error chain put after the last frame is kept.
fn one_line(text: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match backtrace_frame_rest(line) {
            Some(Some(rest)) => kept.push(rest),
            Some(None) => {}
            None => kept.push(line),
        }
    }
    kept.join(" ")
}

/// `None`: not a frame line. `Some(rest)`: a frame, and the text after it.
fn backtrace_frame_rest(line: &str) -> Option<Option<&str>> {
    let (index, rest) = line.split_once(':')?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = rest.trim_start().strip_prefix("0x")?;
    let (_, after) = rest.split_once(" - ")?;
    Some(after.split_once(": ").map(|(_, tail)| tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backtraces_fold_into_one_line() {
        let text = "the guest crashed: error while executing at wasm backtrace:\n    \
                    0:   0x5ca0 - <unknown>!<wasm function 133>\n   \
                    11:   0x1e98 - <unknown>!<wasm function 28>: wasm trap: unreachable (panicked at x.rs:1:2: boom)";
        assert_eq!(
            one_line(text),
            "the guest crashed: error while executing at wasm backtrace: wasm trap: \
             unreachable (panicked at x.rs:1:2: boom)"
        );
        assert_eq!(one_line("a: b\nc"), "a: b c");
    }
}
