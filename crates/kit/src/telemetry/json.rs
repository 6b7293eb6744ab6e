//! The JSON log layer: one object per line, the event's fields and those of
//! every enclosing span flattened onto it.
//!
//! Written for the access log's cost (issue 13): the layer it replaces built a
//! map of cloned JSON values of every span's fields for each line, and
//! serialised a span's fields again whenever one was recorded (about a fifth
//! of a request's CPU time on the API routes, bench/profiles/README.md). Here
//! a span's fields are encoded to JSON text once, when the span is created or
//! a field recorded, and each line is built in a reused per-thread buffer by
//! copying that text and written with one call. The keys are those of the
//! previous layer: `timestamp`, `level`, `target`, the event's fields
//! (`message` among them), the spans' fields and the innermost span's
//! `name`. A key appears once: the event's value wins over a span's, an inner
//! span's over an outer one's.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::io::Write as _;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The layer; `W` makes the writer each line goes to (stdout in services).
#[derive(Debug)]
pub(super) struct JsonLayer<W> {
    make_writer: W,
}

impl<W> JsonLayer<W> {
    /// Lines written to what `make_writer` makes, one `write_all` a line.
    pub(super) fn new(make_writer: W) -> Self {
        Self { make_writer }
    }
}

/// Standard output for log lines, written with one `write` call a line and
/// no lock in this process.
///
/// `std::io::stdout()` serialises writers on a process-wide lock held during
/// the system call; with a line per request, two worker threads took turns
/// on it and slept on its futex (issue 13: context switches were a quarter
/// of the CPU time of `GET /api/thoughts/<id>/`). A duplicate of descriptor
/// 1 is written directly instead: the kernel appends each whole line (a
/// regular file's position is locked per call; pipes keep writes of up to
/// 4 KiB whole).
#[derive(Debug)]
pub(super) enum Stdout {
    /// The duplicate of descriptor 1.
    Direct(std::fs::File),
    /// Descriptor 1 could not be duplicated: Rust's locked stdout.
    Locked,
}

impl Stdout {
    /// Duplicate descriptor 1 (or fall back to the locked stdout).
    pub(super) fn new() -> Self {
        use std::os::fd::AsFd as _;
        match std::io::stdout().as_fd().try_clone_to_owned() {
            Ok(fd) => Self::Direct(std::fs::File::from(fd)),
            Err(_) => Self::Locked,
        }
    }
}

/// One line's writer, from [`Stdout`].
pub(super) enum Line<'a> {
    Direct(&'a std::fs::File),
    Locked(std::io::Stdout),
}

impl std::io::Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Direct(file) => file.write(buf),
            Self::Locked(stdout) => stdout.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Direct(file) => file.flush(),
            Self::Locked(stdout) => stdout.flush(),
        }
    }
}

impl<'a> MakeWriter<'a> for Stdout {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        match self {
            Self::Direct(file) => Line::Direct(file),
            Self::Locked => Line::Locked(std::io::stdout()),
        }
    }
}

/// A span's fields encoded once: `"key":value,` segments one after the
/// other, and where each begins and ends.
#[derive(Debug, Default)]
struct Fields {
    json: String,
    keys: Vec<(&'static str, usize, usize)>,
}

impl Fields {
    /// Where `key`'s segment is in `keys`, if it has one.
    fn find(&self, key: &str) -> Option<usize> {
        self.keys.iter().position(|(k, _, _)| *k == key)
    }

    /// Encode `key`'s value with `write`, replacing an earlier value of it.
    fn put(&mut self, key: &'static str, write: impl FnOnce(&mut String)) {
        if let Some(at) = self.find(key) {
            let (_, start, end) = self.keys.remove(at);
            self.json.replace_range(start..end, "");
            for (_, s, e) in &mut self.keys[at..] {
                *s -= end - start;
                *e -= end - start;
            }
        }
        let start = self.json.len();
        self.json.push('"');
        self.json.push_str(key);
        self.json.push_str("\":");
        write(&mut self.json);
        self.json.push(',');
        self.keys.push((key, start, self.json.len()));
    }

    /// An integer field: its decimal digits are valid JSON as they are.
    fn integer(&mut self, field: &Field, value: impl fmt::Display) {
        self.put(field.name(), |out| {
            let _ = write!(out, "{value}");
        });
    }
}

impl Visit for Fields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field.name(), |out| {
            if value.is_finite() {
                let _ = write!(out, "{value}");
            } else {
                out.push_str("null");
            }
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.integer(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.integer(field, value);
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.integer(field, value);
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.integer(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field.name(), |out| out.push_str(if value { "true" } else { "false" }));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field.name(), |out| quoted(out, format_args!("{value}")));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field.name(), |out| quoted(out, format_args!("{value}")));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field.name(), |out| quoted(out, format_args!("{value:?}")));
    }
}

/// `text` as a JSON string, escaped as it is formatted (no copy first).
fn quoted(out: &mut String, text: fmt::Arguments<'_>) {
    out.push('"');
    let _ = Escaper(out).write_fmt(text);
    out.push('"');
}

/// Escapes what is written into it for a JSON string.
struct Escaper<'a>(&'a mut String);

impl fmt::Write for Escaper<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut plain = 0;
        for (i, b) in s.bytes().enumerate() {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..0x20 | 0x7f => "",
                _ => continue,
            };
            self.0.push_str(&s[plain..i]);
            if escape.is_empty() {
                let _ = write!(self.0, "\\u{b:04x}");
            } else {
                self.0.push_str(escape);
            }
            plain = i + 1;
        }
        self.0.push_str(&s[plain..]);
        Ok(())
    }
}

/// The timestamp's format (UTC, microseconds: `2026-12-02T14:03:23.400317Z`),
/// parsed once rather than for every line.
static TIMESTAMP: std::sync::LazyLock<Vec<chrono::format::Item<'static>>> = std::sync::LazyLock::new(|| {
    chrono::format::StrftimeItems::new("%Y-%m-%dT%H:%M:%S%.6fZ")
        .parse_to_owned()
        .unwrap_or_default()
});

thread_local! {
    /// The line being built and the keys already on it, reused line after line.
    static LINE: RefCell<Fields> = RefCell::new(Fields::default());
}

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(fields) = extensions.get_mut::<Fields>() {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        // A line logged while one is being built on this thread (from a
        // field's Debug, say) gets a buffer of its own.
        let write = |line: &mut Fields| self.write(event, &ctx, line);
        LINE.with(|line| match line.try_borrow_mut() {
            Ok(mut line) => write(&mut line),
            Err(_) => write(&mut Fields::default()),
        });
    }
}

impl<W> JsonLayer<W>
where
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn write<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>, line: &mut Fields)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        line.json.clear();
        line.keys.clear();
        let meta = event.metadata();
        line.json.push('{');
        line.put("timestamp", |out| {
            let items = TIMESTAMP.iter();
            let _ = write!(out, "\"{}\"", chrono::Utc::now().format_with_items(items));
        });
        line.put("level", |out| {
            out.push('"');
            out.push_str(meta.level().as_str());
            out.push('"');
        });
        line.put("target", |out| quoted(out, format_args!("{}", meta.target())));
        event.record(line);
        let mut innermost = None;
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                innermost.get_or_insert(span.name());
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<Fields>() else {
                    continue;
                };
                for &(key, start, end) in &fields.keys {
                    if line.find(key).is_none() {
                        let at = line.json.len();
                        line.json.push_str(&fields.json[start..end]);
                        line.keys.push((key, at, line.json.len()));
                    }
                }
            }
        }
        if let Some(name) = innermost
            && line.find("name").is_none()
        {
            line.put("name", |out| quoted(out, format_args!("{name}")));
        }
        line.json.pop(); // the last field's comma
        line.json.push_str("}\n");
        let _ = self.make_writer.make_writer_for(meta).write_all(line.json.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    /// Lines written, for the tests to read.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(body: impl FnOnce()) -> Vec<(String, serde_json::Value)> {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::registry().with(JsonLayer::new(move || sink.clone()));
        tracing::subscriber::with_default(subscriber, body);
        let text = String::from_utf8(captured.0.lock().expect("not poisoned").clone()).expect("UTF-8");
        text.lines()
            .map(|l| {
                (
                    l.to_owned(),
                    serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")),
                )
            })
            .collect()
    }

    #[test]
    fn a_line_carries_the_event_and_every_enclosing_span() {
        let lines = logged(|| {
            let service = tracing::info_span!("service", service = "thoughts", version = "0.1.0");
            let _s = service.enter();
            let request = tracing::info_span!(
                "request",
                request_id = "r-1",
                trace_id = tracing::field::Empty,
                version = "inner",
                status = 7
            );
            request.record("trace_id", tracing::field::display("abc123"));
            let _r = request.enter();
            tracing::info!(
                status = 200_u16,
                latency_ms = 1.5,
                ok = true,
                delta = -3,
                "request finished"
            );
        });
        assert_eq!(lines.len(), 1);
        let (text, v) = &lines[0];
        assert_eq!(v["message"], "request finished");
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["target"], module_path!());
        assert_eq!(v["status"], 200, "the event's value wins: {text}");
        assert_eq!(v["latency_ms"], 1.5);
        assert_eq!(v["ok"], true);
        assert_eq!(v["delta"], -3);
        assert_eq!(v["request_id"], "r-1");
        assert_eq!(v["trace_id"], "abc123", "a field recorded after the span began");
        assert_eq!(v["service"], "thoughts");
        assert_eq!(v["version"], "inner", "the inner span's value wins: {text}");
        assert_eq!(v["name"], "request");
        let ts = v["timestamp"].as_str().expect("a timestamp");
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        for key in ["\"status\":", "\"version\":", "\"name\":"] {
            assert_eq!(text.matches(key).count(), 1, "{key} once: {text}");
        }
    }

    #[test]
    fn text_of_any_kind_comes_back_unchanged_and_odd_numbers_stay_valid_json() {
        let nasty = "quote \" backslash \\ newline \n tab \t bell \u{7} del \u{7f} café 🦀 </script>";
        let lines = logged(|| {
            let span = tracing::info_span!("s", field = tracing::field::Empty);
            span.record("field", "first");
            span.record("field", nasty);
            span.in_scope(|| {
                tracing::warn!(text = nasty, debug = ?nasty, nan = f64::NAN, inf = f64::INFINITY, "{nasty}");
            });
            tracing::error!("");
        });
        assert_eq!(lines.len(), 2);
        let (text, v) = &lines[0];
        assert_eq!(v["text"], nasty);
        assert_eq!(v["debug"], format!("{nasty:?}"));
        assert_eq!(v["message"], nasty);
        assert_eq!(v["field"], nasty, "recorded twice: the last value, once: {text}");
        assert_eq!(text.matches("\"field\":").count(), 1);
        assert!(v["nan"].is_null() && v["inf"].is_null(), "{text}");
        assert_eq!(lines[1].1["message"], "");
        assert!(lines[1].1.get("name").is_none(), "no span, no name");
    }

    #[test]
    fn an_explicit_parent_is_the_scope_and_spans_outlive_lines() {
        let lines = logged(|| {
            let parent = tracing::info_span!("request", request_id = "r-2");
            let child = tracing::info_span!(parent: &parent, "db", query = "select 1");
            tracing::info!(parent: &child, "one");
            drop(child);
            tracing::info!(parent: &parent, "two");
            tracing::info!("three");
        });
        let ids: Vec<_> = lines.iter().map(|(_, v)| v["request_id"].clone()).collect();
        assert_eq!(
            ids,
            [
                serde_json::json!("r-2"),
                serde_json::json!("r-2"),
                serde_json::Value::Null
            ]
        );
        assert_eq!(lines[0].1["query"], "select 1");
        assert_eq!(lines[0].1["name"], "db");
        assert!(lines[1].1.get("query").is_none());
    }
}
