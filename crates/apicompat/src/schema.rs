//! Schema comparison: what values a schema allows, old against new, in the
//! direction the value travels.

use crate::{Direction, Doc, Error, Sink};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Nesting depth beyond which schemas are not followed (deeper documents are
/// not written by hand, and recursion is caught before that by `seen`).
const MAX_DEPTH: usize = 64;

/// Compare the schemas `old` and `new` of a value travelling in `direction`;
/// findings are placed at `location` (and the field inside it).
pub(crate) fn compare<'a, 'b>(
    old_doc: Doc<'a>,
    old: &'a Value,
    new_doc: Doc<'b>,
    new: &'b Value,
    direction: Direction,
    location: &str,
    sink: &mut Sink<'_>,
) -> Result<(), Error> {
    let mut cmp = Comparer {
        old_doc,
        new_doc,
        direction,
        location,
        sink,
        seen: HashSet::new(),
    };
    cmp.schema(old, new, "", 0)
}

/// How the set of allowed values changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Fewer values allowed.
    Narrowed,
    /// More values allowed.
    Widened,
    /// Some taken away, others added.
    Changed,
}

/// A numeric bound (`minimum`/`maximum`, exclusive or not).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bound {
    value: f64,
    exclusive: bool,
}

impl Bound {
    fn show(bound: Option<Bound>) -> String {
        match bound {
            None => "none".into(),
            Some(b) if b.exclusive => format!("{} (exclusive)", b.value),
            Some(b) => b.value.to_string(),
        }
    }
}

/// What a schema allows, flattened: `$ref`s followed, `allOf` merged, a
/// nullable `oneOf`/`anyOf` of one schema read as that schema.
#[derive(Debug, Default)]
struct View<'a> {
    /// Allowed JSON types other than null; `None`: any type.
    types: Option<BTreeSet<String>>,
    /// Whether null is allowed (always, for any type).
    nullable: bool,
    enumeration: Option<Vec<&'a Value>>,
    format: Option<&'a str>,
    pattern: Option<&'a str>,
    minimum: Option<Bound>,
    maximum: Option<Bound>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    properties: BTreeMap<&'a str, &'a Value>,
    required: BTreeSet<&'a str>,
    closed: bool,
    items: Option<&'a Value>,
    /// The alternatives of a `oneOf`/`anyOf` of more than one non-null schema.
    variants: Vec<&'a Value>,
    read_only: bool,
    write_only: bool,
}

fn is_null_schema(doc: Doc<'_>, value: &Value) -> bool {
    let Ok(v) = doc.resolve(value) else { return false };
    v.get("type").and_then(Value::as_str) == Some("null")
        || v.get("enum")
            .and_then(Value::as_array)
            .is_some_and(|e| e.len() == 1 && e[0].is_null())
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl<'a> View<'a> {
    fn of(doc: Doc<'a>, value: &'a Value, depth: usize) -> Result<Self, Error> {
        let v = doc.resolve(value)?;
        let mut view = View::default();
        if depth > MAX_DEPTH {
            view.nullable = true;
            return Ok(view);
        }
        let Some(object) = v.as_object() else {
            // `true` or `{}`-like: anything.
            view.nullable = true;
            return Ok(view);
        };
        let mut explicit_types = false;
        match object.get("type") {
            Some(Value::String(t)) => {
                view.types = Some(BTreeSet::from([t.clone()]));
                explicit_types = true;
            }
            Some(Value::Array(ts)) => {
                view.types = Some(ts.iter().filter_map(Value::as_str).map(str::to_owned).collect());
                explicit_types = true;
            }
            _ => {}
        }
        if object.get("nullable").and_then(Value::as_bool) == Some(true) {
            view.nullable = true;
        }
        if let Some(values) = object.get("enum").and_then(Value::as_array) {
            view.enumeration = Some(values.iter().collect());
        } else if let Some(value) = object.get("const") {
            view.enumeration = Some(vec![value]);
        }
        view.format = object.get("format").and_then(Value::as_str);
        view.pattern = object.get("pattern").and_then(Value::as_str);
        let number = |key: &str| object.get(key).and_then(Value::as_f64);
        let flag = |key: &str| object.get(key).and_then(Value::as_bool).unwrap_or(false);
        // 3.1 writes exclusive bounds as numbers, 3.0 as flags on minimum/maximum.
        view.minimum = match (number("exclusiveMinimum"), number("minimum")) {
            (Some(value), _) => Some(Bound { value, exclusive: true }),
            (None, Some(value)) => Some(Bound {
                value,
                exclusive: flag("exclusiveMinimum"),
            }),
            (None, None) => None,
        };
        view.maximum = match (number("exclusiveMaximum"), number("maximum")) {
            (Some(value), _) => Some(Bound { value, exclusive: true }),
            (None, Some(value)) => Some(Bound {
                value,
                exclusive: flag("exclusiveMaximum"),
            }),
            (None, None) => None,
        };
        let count = |key: &str| object.get(key).and_then(Value::as_u64);
        view.min_length = count("minLength");
        view.max_length = count("maxLength");
        view.min_items = count("minItems");
        view.max_items = count("maxItems");
        if let Some(props) = object.get("properties").and_then(Value::as_object) {
            view.properties = props.iter().map(|(k, v)| (k.as_str(), v)).collect();
        }
        if let Some(required) = object.get("required").and_then(Value::as_array) {
            view.required = required.iter().filter_map(Value::as_str).collect();
        }
        view.closed = object.get("additionalProperties") == Some(&Value::Bool(false));
        view.items = object.get("items");
        view.read_only = flag("readOnly");
        view.write_only = flag("writeOnly");

        for member in object.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            let member = View::of(doc, member, depth + 1)?;
            view.merge(member);
        }
        for key in ["oneOf", "anyOf"] {
            let Some(members) = object.get(key).and_then(Value::as_array) else {
                continue;
            };
            let (nulls, others): (Vec<&Value>, Vec<&Value>) = members.iter().partition(|m| is_null_schema(doc, m));
            if !nulls.is_empty() {
                view.nullable = true;
            }
            match others.as_slice() {
                [one] => {
                    let member = View::of(doc, one, depth + 1)?;
                    let member_nullable = member.nullable;
                    view.merge(member);
                    view.nullable |= member_nullable;
                }
                _ => view.variants.extend(others),
            }
        }
        if let Some(types) = view.types.as_mut()
            && types.remove("null")
        {
            view.nullable = true;
        }
        if !explicit_types && view.types.is_none() && view.variants.is_empty() {
            // Implied by the keywords present.
            if !view.properties.is_empty() {
                view.types = Some(BTreeSet::from(["object".to_owned()]));
            } else if view.items.is_some() {
                view.types = Some(BTreeSet::from(["array".to_owned()]));
            } else if let Some(values) = &view.enumeration {
                let mut types: BTreeSet<String> = values.iter().map(|v| json_type(v).to_owned()).collect();
                view.nullable |= types.remove("null");
                view.types = Some(types);
            }
        }
        if view.types.is_none() && view.variants.is_empty() {
            view.nullable = true;
        }
        Ok(view)
    }

    /// Add what an `allOf` member (or the one non-null alternative) requires.
    fn merge(&mut self, other: View<'a>) {
        self.types = match (self.types.take(), other.types) {
            (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
            (a, b) => a.or(b),
        };
        self.enumeration = self.enumeration.take().or(other.enumeration);
        self.format = self.format.or(other.format);
        self.pattern = self.pattern.or(other.pattern);
        self.minimum = self.minimum.or(other.minimum);
        self.maximum = self.maximum.or(other.maximum);
        self.min_length = self.min_length.or(other.min_length);
        self.max_length = self.max_length.or(other.max_length);
        self.min_items = self.min_items.or(other.min_items);
        self.max_items = self.max_items.or(other.max_items);
        for (k, v) in other.properties {
            self.properties.entry(k).or_insert(v);
        }
        self.required.extend(other.required);
        self.closed |= other.closed;
        self.items = self.items.or(other.items);
        self.variants.extend(other.variants);
        self.read_only |= other.read_only;
        self.write_only |= other.write_only;
    }
}

/// Whether the type set `a` allows every value of `b` (`None`: any type;
/// `number` includes `integer`).
fn covers(a: &Option<BTreeSet<String>>, b: &Option<BTreeSet<String>>) -> bool {
    match (a, b) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => b
            .iter()
            .all(|t| a.contains(t) || (t == "integer" && a.contains("number"))),
    }
}

fn show_types(types: &Option<BTreeSet<String>>) -> String {
    match types {
        None => "any".into(),
        Some(t) if t.is_empty() => "nothing".into(),
        Some(t) => t.iter().cloned().collect::<Vec<_>>().join(" | "),
    }
}

fn show_values(values: &[&Value]) -> String {
    let shown: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    format!("[{}]", shown.join(", "))
}

fn show<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

/// How a lower bound moved: a higher or new one narrows.
fn lower<T: PartialOrd>(old: Option<T>, new: Option<T>) -> Option<Change> {
    match (old, new) {
        (None, Some(_)) => Some(Change::Narrowed),
        (Some(_), None) => Some(Change::Widened),
        (Some(o), Some(n)) if n > o => Some(Change::Narrowed),
        (Some(o), Some(n)) if n < o => Some(Change::Widened),
        _ => None,
    }
}

/// How an upper bound moved: a lower or new one narrows.
fn upper<T: PartialOrd>(old: Option<T>, new: Option<T>) -> Option<Change> {
    let both = old.is_some() && new.is_some();
    lower(old, new).map(|c| match c {
        Change::Narrowed if both => Change::Widened,
        Change::Widened if both => Change::Narrowed,
        other => other,
    })
}

/// A lower numeric bound: a higher value, or the same one made exclusive, narrows.
fn lower_bound(old: Option<Bound>, new: Option<Bound>) -> Option<Change> {
    let key = |b: Bound| (b.value, b.exclusive as u8);
    lower(old.map(key), new.map(key))
}

fn upper_bound(old: Option<Bound>, new: Option<Bound>) -> Option<Change> {
    // For an upper bound, exclusive is the tighter one: compare (value, inclusive).
    let key = |b: Bound| (b.value, (!b.exclusive) as u8);
    upper(old.map(key), new.map(key))
}

/// Something present in one document and absent (or different) in the other:
/// added narrows, removed widens, different changes.
fn presence<T: PartialEq>(old: Option<T>, new: Option<T>) -> Option<Change> {
    match (old, new) {
        (None, Some(_)) => Some(Change::Narrowed),
        (Some(_), None) => Some(Change::Widened),
        (Some(o), Some(n)) if o != n => Some(Change::Changed),
        _ => None,
    }
}

struct Comparer<'s, 'r, 'a, 'b> {
    old_doc: Doc<'a>,
    new_doc: Doc<'b>,
    direction: Direction,
    location: &'s str,
    sink: &'s mut Sink<'r>,
    seen: HashSet<(usize, usize)>,
}

impl<'a, 'b> Comparer<'_, '_, 'a, 'b> {
    fn place(&self, field: &str) -> String {
        match field {
            "" => self.location.to_owned(),
            _ => format!("{} `{field}`", self.location),
        }
    }

    fn is_breaking(&self, change: Change) -> bool {
        matches!(
            (change, self.direction),
            (Change::Changed, _) | (Change::Narrowed, Direction::Request) | (Change::Widened, Direction::Response)
        )
    }

    /// Report a change of one aspect of a schema (`what` in
    /// `[narrowed, widened, changed]` words).
    fn report(&mut self, change: Option<Change>, field: &str, words: [&str; 3], old: String, new: String) {
        let Some(change) = change else { return };
        let word = match change {
            Change::Narrowed => words[0],
            Change::Widened => words[1],
            Change::Changed => words[2],
        };
        let breaking = self.is_breaking(change);
        let place = self.place(field);
        self.sink.push(breaking, &place, word, Some(old), Some(new));
    }

    fn note(&mut self, breaking: bool, field: &str, what: &str) {
        let place = self.place(field);
        self.sink.push(breaking, &place, what, None, None);
    }

    fn schema(&mut self, old: &'a Value, new: &'b Value, field: &str, depth: usize) -> Result<(), Error> {
        let old_resolved = self.old_doc.resolve(old)?;
        let new_resolved = self.new_doc.resolve(new)?;
        let key = (
            old_resolved as *const Value as usize,
            new_resolved as *const Value as usize,
        );
        if depth > MAX_DEPTH || !self.seen.insert(key) {
            return Ok(());
        }
        let o = View::of(self.old_doc, old, depth)?;
        let n = View::of(self.new_doc, new, depth)?;

        let types = match (covers(&n.types, &o.types), covers(&o.types, &n.types)) {
            (true, true) => None,
            (true, false) => Some(Change::Widened),
            (false, true) => Some(Change::Narrowed),
            (false, false) => Some(Change::Changed),
        };
        self.report(
            types,
            field,
            ["type narrowed", "type widened", "type changed"],
            show_types(&o.types),
            show_types(&n.types),
        );
        let nullable = match (o.nullable, n.nullable) {
            (true, false) => Some(Change::Narrowed),
            (false, true) => Some(Change::Widened),
            _ => None,
        };
        if o.types.is_some() && n.types.is_some() {
            self.report(
                nullable,
                field,
                ["null no longer allowed", "null now allowed", ""],
                if o.nullable { "nullable" } else { "not null" }.into(),
                if n.nullable { "nullable" } else { "not null" }.into(),
            );
        }
        let enumeration = match (&o.enumeration, &n.enumeration) {
            (None, None) => None,
            (None, Some(_)) => Some(Change::Narrowed),
            (Some(_), None) => Some(Change::Widened),
            (Some(a), Some(b)) => {
                let removed = a.iter().any(|v| !b.contains(v));
                let added = b.iter().any(|v| !a.contains(v));
                match (removed, added) {
                    (true, true) => Some(Change::Changed),
                    (true, false) => Some(Change::Narrowed),
                    (false, true) => Some(Change::Widened),
                    (false, false) => None,
                }
            }
        };
        let show_enum = |e: &Option<Vec<&Value>>| e.as_deref().map_or_else(|| "any value".to_owned(), show_values);
        self.report(
            enumeration,
            field,
            ["enum narrowed", "enum widened", "enum changed"],
            show_enum(&o.enumeration),
            show_enum(&n.enumeration),
        );
        self.report(
            presence(o.format, n.format),
            field,
            ["format added", "format removed", "format changed"],
            show(o.format),
            show(n.format),
        );
        self.report(
            presence(o.pattern, n.pattern),
            field,
            ["pattern added", "pattern removed", "pattern changed"],
            show(o.pattern),
            show(n.pattern),
        );
        let tightened = ["tightened", "loosened", "changed"];
        let named = |name: &str| tightened.map(|w| format!("{name} {w}"));
        let words = named("minimum");
        self.report(
            lower_bound(o.minimum, n.minimum),
            field,
            [&words[0], &words[1], &words[2]],
            Bound::show(o.minimum),
            Bound::show(n.minimum),
        );
        let words = named("maximum");
        self.report(
            upper_bound(o.maximum, n.maximum),
            field,
            [&words[0], &words[1], &words[2]],
            Bound::show(o.maximum),
            Bound::show(n.maximum),
        );
        for (name, old_value, new_value, is_lower) in [
            ("minLength", o.min_length, n.min_length, true),
            ("maxLength", o.max_length, n.max_length, false),
            ("minItems", o.min_items, n.min_items, true),
            ("maxItems", o.max_items, n.max_items, false),
        ] {
            let change = match is_lower {
                true => lower(old_value, new_value),
                false => upper(old_value, new_value),
            };
            let words = named(name);
            self.report(
                change,
                field,
                [&words[0], &words[1], &words[2]],
                show(old_value),
                show(new_value),
            );
        }
        self.properties(&o, &n, field, depth)?;
        if let (Some(oi), Some(ni)) = (o.items, n.items) {
            self.schema(oi, ni, &format!("{field}[]"), depth + 1)?;
        }
        self.variants(&o, &n, field, depth)
    }

    fn properties(&mut self, o: &View<'a>, n: &View<'b>, field: &str, depth: usize) -> Result<(), Error> {
        let child = |name: &str| match field {
            "" => name.to_owned(),
            _ => format!("{field}.{name}"),
        };
        let (old_doc, new_doc, direction) = (self.old_doc, self.new_doc, self.direction);
        let skipped = |schema: &Value, doc_is_old: bool| -> bool {
            let resolved = match doc_is_old {
                true => old_doc.resolve(schema),
                false => new_doc.resolve(schema),
            };
            let Ok(resolved) = resolved else { return false };
            let flag = |k: &str| resolved.get(k).and_then(Value::as_bool).unwrap_or(false);
            match direction {
                Direction::Request => flag("readOnly"),
                Direction::Response => flag("writeOnly"),
            }
        };
        let mut names: BTreeSet<&str> = BTreeSet::new();
        names.extend(o.properties.keys());
        names.extend(n.properties.keys());
        names.extend(o.required.iter());
        names.extend(n.required.iter());
        for name in names {
            let field = child(name);
            let old_prop = o.properties.get(name).copied();
            let new_prop = n.properties.get(name).copied();
            let in_old = old_prop.is_some() || o.required.contains(name);
            let in_new = new_prop.is_some() || n.required.contains(name);
            if old_prop.is_some_and(|p| skipped(p, true)) || new_prop.is_some_and(|p| skipped(p, false)) {
                continue;
            }
            let old_required = o.required.contains(name);
            let new_required = n.required.contains(name);
            match self.direction {
                Direction::Request => {
                    if !in_old && new_required {
                        self.note(true, &field, "new required field");
                    } else if !in_old {
                        self.note(false, &field, "optional field added");
                    } else if !in_new {
                        match n.closed {
                            true => self.note(true, &field, "field no longer accepted"),
                            false => self.note(false, &field, "field no longer read"),
                        }
                    } else if !old_required && new_required {
                        self.note(true, &field, "field now required");
                    } else if old_required && !new_required {
                        self.note(false, &field, "field now optional");
                    }
                }
                Direction::Response => {
                    if !in_old {
                        self.note(false, &field, "field added");
                    } else if !in_new {
                        self.note(true, &field, "field removed");
                    } else if old_required && !new_required {
                        self.note(true, &field, "field no longer always present");
                    } else if !old_required && new_required {
                        self.note(false, &field, "field now always present");
                    }
                }
            }
            if let (Some(op), Some(np)) = (old_prop, new_prop) {
                self.schema(op, np, &field, depth + 1)?;
            }
        }
        Ok(())
    }

    fn variants(&mut self, o: &View<'a>, n: &View<'b>, field: &str, depth: usize) -> Result<(), Error> {
        if o.variants.is_empty() && n.variants.is_empty() {
            return Ok(());
        }
        if o.variants.is_empty() != n.variants.is_empty() {
            self.note(
                true,
                field,
                "schema changed to or from a choice of schemas (oneOf/anyOf)",
            );
            return Ok(());
        }
        for (ov, nv) in o.variants.iter().zip(&n.variants) {
            self.schema(ov, nv, field, depth + 1)?;
        }
        let change = match o.variants.len().cmp(&n.variants.len()) {
            std::cmp::Ordering::Greater => Some(Change::Narrowed),
            std::cmp::Ordering::Less => Some(Change::Widened),
            std::cmp::Ordering::Equal => None,
        };
        self.report(
            change,
            field,
            [
                "alternatives (oneOf/anyOf) removed",
                "alternatives (oneOf/anyOf) added",
                "",
            ],
            o.variants.len().to_string(),
            n.variants.len().to_string(),
        );
        Ok(())
    }
}
