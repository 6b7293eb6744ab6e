//! Committed files that code generates (a service's OpenAPI document):
//! [`assert_file`] fails with a readable line diff and the command that
//! accepts the new text when the file differs from what the code produces now.

use std::path::Path;

/// `value` as the committed text: pretty-printed JSON (two-space indent),
/// keys sorted at every level, one trailing newline, so that the same
/// document always gives the same bytes and a diff shows only what changed.
pub fn canonical_json(value: &serde_json::Value) -> String {
    fn sorted(value: &serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let mut text = serde_json::to_string_pretty(&sorted(value)).expect("a JSON value always serializes");
    text.push('\n');
    text
}

/// Check that the file at `path` holds exactly `expected`. With the
/// environment variable `update_var` set to `1`, write `expected` there
/// instead (and pass). On a difference, panic with the lines that differ
/// (unified diff, three lines of context) and `accept`, the command to run.
pub fn assert_file(path: &Path, expected: &str, update_var: &str, accept: &str) {
    if std::env::var(update_var).is_ok_and(|v| v == "1") {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        }
        std::fs::write(path, expected).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => panic!(
            "{}: {e}\nThe code's document has no committed copy yet; create it with:\n    {accept}",
            path.display()
        ),
    };
    if committed != expected {
        panic!(
            "{} differs from what the code generates now (- committed, + generated):\n\n{}\n\
             If the change is intended, review it and accept it with:\n    {accept}\n",
            path.display(),
            unified_diff(&committed, expected, 3, 200)
        );
    }
}

/// A unified diff of `old` and `new` by lines, with `context` lines around
/// each change, cut after `max_lines` lines of output.
pub fn unified_diff(old: &str, new: &str, context: usize, max_lines: usize) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let ops = diff_lines(&a, &b);
    // Group the edit script into hunks with context.
    let mut out = Vec::new();
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| !matches!(op, Op::Same(..)))
        .map(|(i, _)| i)
        .collect();
    let mut i = 0;
    while i < changed.len() {
        let start = changed[i].saturating_sub(context);
        let mut end = changed[i] + context + 1;
        while i + 1 < changed.len() && changed[i + 1] <= end + context {
            i += 1;
            end = changed[i] + context + 1;
        }
        let end = end.min(ops.len());
        let (old_line, new_line) = match ops[start] {
            Op::Same(x, y) => (x + 1, y + 1),
            Op::Removed(x) => (x + 1, first_new_line(&ops[start..])),
            Op::Added(y) => (first_old_line(&ops[start..]), y + 1),
        };
        out.push(format!("@@ -{old_line} +{new_line} @@"));
        for op in &ops[start..end] {
            out.push(match *op {
                Op::Same(x, _) => format!(" {}", a[x]),
                Op::Removed(x) => format!("-{}", a[x]),
                Op::Added(y) => format!("+{}", b[y]),
            });
        }
        i += 1;
    }
    if out.len() > max_lines {
        let more = out.len() - max_lines;
        out.truncate(max_lines);
        out.push(format!("... ({more} more lines of diff)"));
    }
    out.join("\n")
}

fn first_new_line(ops: &[Op]) -> usize {
    ops.iter()
        .find_map(|op| match op {
            Op::Same(_, y) | Op::Added(y) => Some(y + 1),
            Op::Removed(_) => None,
        })
        .unwrap_or(0)
}

fn first_old_line(ops: &[Op]) -> usize {
    ops.iter()
        .find_map(|op| match op {
            Op::Same(x, _) | Op::Removed(x) => Some(x + 1),
            Op::Added(_) => None,
        })
        .unwrap_or(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Same(usize, usize),
    Removed(usize),
    Added(usize),
}

/// An edit script from `a` to `b`: the common prefix and suffix taken off,
/// then a longest common subsequence of what is left (documents of a few
/// thousand lines that differ in a few places cost little).
fn diff_lines(a: &[&str], b: &[&str]) -> Vec<Op> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut ops: Vec<Op> = (0..prefix).map(|i| Op::Same(i, i)).collect();
    // lcs[i][j]: length of the LCS of ma[i..] and mb[j..].
    let width = mb.len() + 1;
    let mut lcs = vec![0u32; (ma.len() + 1) * width];
    for i in (0..ma.len()).rev() {
        for j in (0..mb.len()).rev() {
            lcs[i * width + j] = match ma[i] == mb[j] {
                true => lcs[(i + 1) * width + j + 1] + 1,
                false => lcs[(i + 1) * width + j].max(lcs[i * width + j + 1]),
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < ma.len() || j < mb.len() {
        if i < ma.len() && j < mb.len() && ma[i] == mb[j] {
            ops.push(Op::Same(prefix + i, prefix + j));
            i += 1;
            j += 1;
        } else if i < ma.len() && (j == mb.len() || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1]) {
            // Removals before additions, as `diff -u` shows a replaced line.
            ops.push(Op::Removed(prefix + i));
            i += 1;
        } else {
            ops.push(Op::Added(prefix + j));
            j += 1;
        }
    }
    let (sa, sb) = (a.len() - suffix, b.len() - suffix);
    ops.extend((0..suffix).map(|k| Op::Same(sa + k, sb + k)));
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level_and_ends_with_a_newline() {
        let value = serde_json::json!({"b": 1, "a": {"z": [ {"y": 1, "x": 2} ], "c": null}});
        assert_eq!(
            canonical_json(&value),
            "{\n  \"a\": {\n    \"c\": null,\n    \"z\": [\n      {\n        \"x\": 2,\n        \"y\": 1\n      }\n    ]\n  },\n  \"b\": 1\n}\n"
        );
    }

    #[test]
    fn a_diff_shows_the_changed_lines_with_context_and_line_numbers() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nD\ne\nf\ng\nh\ni\n";
        assert_eq!(
            unified_diff(old, new, 1, 100),
            "@@ -3 +3 @@\n c\n-d\n+D\n e\n@@ -8 +8 @@\n h\n+i"
        );
    }

    #[test]
    fn nearby_changes_share_one_hunk_and_long_diffs_are_cut() {
        let old = "1\n2\n3\n4\n5\n";
        let new = "1\nx\n3\ny\n5\n";
        assert_eq!(
            unified_diff(old, new, 1, 100),
            "@@ -1 +1 @@\n 1\n-2\n+x\n 3\n-4\n+y\n 5"
        );
        assert_eq!(
            unified_diff(old, new, 1, 3),
            "@@ -1 +1 @@\n 1\n-2\n... (5 more lines of diff)"
        );
    }

    #[test]
    fn identical_texts_have_an_empty_diff() {
        assert_eq!(unified_diff("a\nb\n", "a\nb\n", 3, 10), "");
    }
}
