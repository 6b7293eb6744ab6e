//! One test per rule, each on tiny hand-written documents.

use apicompat::{Finding, Report, compare};
use serde_json::{Value, json};

/// A document with these paths and component schemas.
fn doc(paths: Value, schemas: Value) -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1.0.0"},
        "paths": paths,
        "components": {"schemas": schemas}
    })
}

fn run(old: &Value, new: &Value) -> Report {
    compare(old, new).expect("both documents are valid")
}

/// The one finding of the report, failing with the whole report otherwise.
fn only(report: &Report) -> &Finding {
    assert_eq!(report.findings.len(), 1, "expected one finding, got {report}");
    &report.findings[0]
}

fn has(report: &Report, breaking: bool, location: &str, change: &str) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.breaking == breaking && f.location == location && f.change == change)
}

#[track_caller]
fn assert_has(report: &Report, breaking: bool, location: &str, change: &str) {
    assert!(
        has(report, breaking, location, change),
        "expected a {} finding {change:?} at {location:?} in:\n{report}",
        if breaking { "breaking" } else { "non-breaking" }
    );
}

/// `GET /things/` answering 200 with `schema`.
fn get_returning(schema: Value) -> Value {
    json!({"/things/": {"get": {"responses": {"200": {
        "content": {"application/json": {"schema": schema}}
    }}}}})
}

/// `POST /things/` taking a JSON body with `schema`, answering 201.
fn post_taking(schema: Value) -> Value {
    json!({"/things/": {"post": {
        "requestBody": {"required": true, "content": {"application/json": {"schema": schema}}},
        "responses": {"201": {}}
    }}})
}

/// `GET /things/` with these parameters, answering 200.
fn get_with_params(params: Value) -> Value {
    json!({"/things/": {"get": {"parameters": params, "responses": {"200": {}}}}})
}

fn query(name: &str, required: bool, schema: Value) -> Value {
    json!({"name": name, "in": "query", "required": required, "schema": schema})
}

fn thing(properties: Value, required: Value) -> Value {
    json!({"Thing": {"type": "object", "properties": properties, "required": required}})
}

const BODY: &str = "request body (application/json)";
const OK: &str = "response 200 (application/json)";

#[test]
fn a_document_is_compatible_with_itself_and_nothing_is_listed() {
    let d = doc(
        get_returning(json!({"$ref": "#/components/schemas/Thing"})),
        thing(json!({"id": {"type": "integer"}}), json!(["id"])),
    );
    let report = run(&d, &d);
    assert!(report.findings.is_empty(), "{report}");
    assert!(!report.is_breaking());
}

#[test]
fn a_removed_path_breaks() {
    let old = doc(get_returning(json!({"type": "string"})), json!({}));
    let new = doc(json!({}), json!({}));
    let report = run(&old, &new);
    let finding = only(&report);
    assert!(finding.breaking);
    assert_eq!(finding.to_string(), "BREAKING  /things/: path removed");
    assert!(report.is_breaking());
}

#[test]
fn a_new_path_is_listed_and_does_not_break() {
    let old = doc(json!({}), json!({}));
    let new = doc(get_returning(json!({"type": "string"})), json!({}));
    let report = run(&old, &new);
    assert_eq!(only(&report).to_string(), "ok        /things/: path added");
    assert!(!report.is_breaking());
}

#[test]
fn renaming_a_path_parameter_changes_no_url_and_does_not_break() {
    let path = |name: &str| {
        json!({ format!("/things/{{{name}}}/"): {"get": {
            "parameters": [{"name": name, "in": "path", "required": true, "schema": {"type": "integer"}}],
            "responses": {"200": {}}
        }}})
    };
    let report = run(&doc(path("id"), json!({})), &doc(path("thing_id"), json!({})));
    assert!(!report.is_breaking(), "{report}");
    assert_has(&report, false, "path parameter `thing_id`", "path parameter renamed");
}

#[test]
fn a_removed_method_breaks_and_a_new_one_does_not() {
    let old = doc(
        json!({"/things/": {"get": {"responses": {"200": {}}}, "delete": {"responses": {"204": {}}}}}),
        json!({}),
    );
    let new = doc(
        json!({"/things/": {"get": {"responses": {"200": {}}}, "put": {"responses": {"200": {}}}}}),
        json!({}),
    );
    let report = run(&old, &new);
    assert_eq!(report.findings.len(), 2, "{report}");
    assert_eq!(
        report.findings[0].to_string(),
        "BREAKING  DELETE /things/: method removed"
    );
    assert_eq!(report.findings[1].to_string(), "ok        PUT /things/: method added");
}

#[test]
fn a_response_field_removed_behind_a_ref_breaks() {
    let schema = json!({"$ref": "#/components/schemas/Thing"});
    let old = doc(
        get_returning(schema.clone()),
        thing(
            json!({"id": {"type": "integer"}, "text": {"type": "string"}}),
            json!(["id", "text"]),
        ),
    );
    let new = doc(
        get_returning(schema),
        thing(json!({"id": {"type": "integer"}}), json!(["id"])),
    );
    let report = run(&old, &new);
    assert_eq!(
        only(&report).to_string(),
        "BREAKING  GET /things/  response 200 (application/json) `text`: field removed"
    );
}

#[test]
fn a_field_removed_from_the_items_of_a_listed_array_breaks() {
    let list = json!({"type": "array", "items": {"$ref": "#/components/schemas/Thing"}});
    let old = doc(
        get_returning(list.clone()),
        json!({"Thing": {"$ref": "#/components/schemas/Inner"},
               "Inner": {"type": "object", "properties": {"user": {"type": "object",
                   "properties": {"name": {"type": "string"}}}}}}),
    );
    let new = doc(
        get_returning(list),
        json!({"Thing": {"$ref": "#/components/schemas/Inner"},
               "Inner": {"type": "object", "properties": {"user": {"type": "object", "properties": {}}}}}),
    );
    let report = run(&old, &new);
    assert_has(&report, true, &format!("{OK} `[].user.name`"), "field removed");
}

#[test]
fn a_response_field_that_may_now_be_absent_breaks() {
    let old = doc(
        get_returning(json!({"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]})),
        json!({}),
    );
    let new = doc(
        get_returning(json!({"type": "object", "properties": {"id": {"type": "integer"}}})),
        json!({}),
    );
    assert_has(
        &run(&old, &new),
        true,
        &format!("{OK} `id`"),
        "field no longer always present",
    );
}

#[test]
fn a_new_response_field_does_not_break() {
    let old = doc(
        get_returning(json!({"type": "object", "properties": {"id": {"type": "integer"}}})),
        json!({}),
    );
    let new = doc(
        get_returning(
            json!({"type": "object", "properties": {"id": {"type": "integer"}, "likes": {"type": "integer"}}}),
        ),
        json!({}),
    );
    let report = run(&old, &new);
    assert!(!report.is_breaking(), "{report}");
    assert_has(&report, false, &format!("{OK} `likes`"), "field added");
}

#[test]
fn a_removed_parameter_breaks() {
    let old = doc(
        get_with_params(json!([
            query("search", false, json!({"type": "string"})),
            query("limit", false, json!({"type": "integer"}))
        ])),
        json!({}),
    );
    let new = doc(
        get_with_params(json!([query("limit", false, json!({"type": "integer"}))])),
        json!({}),
    );
    let report = run(&old, &new);
    assert_eq!(
        only(&report).to_string(),
        "BREAKING  GET /things/  query parameter `search`: parameter removed"
    );
}

#[test]
fn a_renamed_parameter_breaks_and_is_reported_as_a_rename() {
    let old = doc(
        get_with_params(json!([query("search", false, json!({"type": "string"}))])),
        json!({}),
    );
    let new = doc(
        get_with_params(json!([query("q", false, json!({"type": "string"}))])),
        json!({}),
    );
    assert_eq!(
        only(&run(&old, &new)).to_string(),
        "BREAKING  GET /things/  query parameter `search`: parameter renamed: `search` → `q`"
    );
}

#[test]
fn a_new_optional_parameter_does_not_break_but_a_new_required_one_does() {
    let old = doc(get_with_params(json!([])), json!({}));
    let optional = doc(
        get_with_params(json!([query("order", false, json!({"type": "string"}))])),
        json!({}),
    );
    let report = run(&old, &optional);
    assert!(!report.is_breaking(), "{report}");
    assert_has(&report, false, "query parameter `order`", "optional parameter added");

    let required = doc(
        get_with_params(json!([query("order", true, json!({"type": "string"}))])),
        json!({}),
    );
    assert_has(
        &run(&old, &required),
        true,
        "query parameter `order`",
        "new required parameter",
    );
}

#[test]
fn a_parameter_made_required_breaks() {
    let old = doc(
        get_with_params(json!([query("limit", false, json!({"type": "integer"}))])),
        json!({}),
    );
    let new = doc(
        get_with_params(json!([query("limit", true, json!({"type": "integer"}))])),
        json!({}),
    );
    assert_eq!(
        only(&run(&old, &new)).to_string(),
        "BREAKING  GET /things/  query parameter `limit`: parameter now required: optional → required"
    );
}

#[test]
fn a_parameter_defined_on_the_path_item_and_behind_a_ref_is_compared_too() {
    let old = json!({
        "openapi": "3.0.3", "info": {"title": "t", "version": "1"},
        "paths": {"/things/": {
            "parameters": [{"$ref": "#/components/parameters/Limit"}],
            "get": {"responses": {"200": {}}}
        }},
        "components": {"parameters": {"Limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 1000}}}}
    });
    let mut new = old.clone();
    new["components"]["parameters"]["Limit"]["schema"]["maximum"] = json!(100);
    assert_eq!(
        only(&run(&old, &new)).to_string(),
        "BREAKING  GET /things/  query parameter `limit`: maximum tightened: 1000 → 100"
    );
}

#[test]
fn a_request_type_changed_from_string_to_integer_breaks() {
    let old = doc(
        get_with_params(json!([query("after", false, json!({"type": "string"}))])),
        json!({}),
    );
    let new = doc(
        get_with_params(json!([query("after", false, json!({"type": "integer"}))])),
        json!({}),
    );
    assert_eq!(
        only(&run(&old, &new)).to_string(),
        "BREAKING  GET /things/  query parameter `after`: type changed: string → integer"
    );
}

#[test]
fn a_request_number_narrowed_to_integer_breaks_and_the_reverse_does_not() {
    let with = |t: &str| {
        doc(
            get_with_params(json!([query("n", false, json!({"type": t}))])),
            json!({}),
        )
    };
    let narrowed = run(&with("number"), &with("integer"));
    assert_eq!(
        only(&narrowed).to_string(),
        "BREAKING  GET /things/  query parameter `n`: type narrowed: number → integer"
    );
    let widened = run(&with("integer"), &with("number"));
    assert!(!widened.is_breaking(), "{widened}");
    assert_has(&widened, false, "query parameter `n`", "type widened");
}

#[test]
fn a_response_type_widened_breaks_and_narrowed_does_not() {
    let with = |t: &str| doc(get_returning(json!({"type": t})), json!({}));
    assert_has(&run(&with("integer"), &with("number")), true, OK, "type widened");
    let narrowed = run(&with("number"), &with("integer"));
    assert!(!narrowed.is_breaking(), "{narrowed}");
}

#[test]
fn a_new_enum_restriction_on_input_breaks() {
    let old = doc(
        get_with_params(json!([query("order", false, json!({"type": "string"}))])),
        json!({}),
    );
    let new = doc(
        get_with_params(json!([query(
            "order",
            false,
            json!({"type": "string", "enum": ["asc", "desc"]})
        )])),
        json!({}),
    );
    assert_eq!(
        only(&run(&old, &new)).to_string(),
        "BREAKING  GET /things/  query parameter `order`: enum narrowed: any value → [\"asc\", \"desc\"]"
    );
}

#[test]
fn enum_values_added_to_input_do_not_break_but_added_to_output_do() {
    let param = |values: Value| {
        doc(
            get_with_params(json!([query(
                "order",
                false,
                json!({"type": "string", "enum": values})
            )])),
            json!({}),
        )
    };
    let input = run(&param(json!(["asc"])), &param(json!(["asc", "desc"])));
    assert!(!input.is_breaking(), "{input}");
    assert_has(&input, false, "query parameter `order`", "enum widened");

    let removed = run(&param(json!(["asc", "desc"])), &param(json!(["asc"])));
    assert_has(&removed, true, "query parameter `order`", "enum narrowed");

    let output = |values: Value| doc(get_returning(json!({"type": "string", "enum": values})), json!({})).clone();
    let widened = run(&output(json!(["draft"])), &output(json!(["draft", "deleted"])));
    assert_eq!(
        only(&widened).to_string(),
        "BREAKING  GET /things/  response 200 (application/json): enum widened: [\"draft\"] → [\"draft\", \"deleted\"]"
    );
}

#[test]
fn a_lower_max_length_or_a_higher_min_length_on_input_breaks() {
    let text = |constraints: Value| {
        let mut schema = json!({"type": "string"});
        for (k, v) in constraints.as_object().expect("an object") {
            schema[k] = v.clone();
        }
        doc(
            post_taking(json!({"type": "object", "properties": {"text": schema}, "required": ["text"]})),
            json!({}),
        )
    };
    let location = format!("{BODY} `text`");
    let lowered = run(&text(json!({"maxLength": 250})), &text(json!({"maxLength": 200})));
    assert_eq!(
        only(&lowered).to_string(),
        format!("BREAKING  POST /things/  {location}: maxLength tightened: 250 → 200")
    );
    assert_has(
        &run(&text(json!({})), &text(json!({"maxLength": 250}))),
        true,
        &location,
        "maxLength tightened",
    );
    assert_has(
        &run(&text(json!({"minLength": 1})), &text(json!({"minLength": 3}))),
        true,
        &location,
        "minLength tightened",
    );
    let raised = run(&text(json!({"maxLength": 250})), &text(json!({"maxLength": 500})));
    assert!(!raised.is_breaking(), "{raised}");
    assert_has(&raised, false, &location, "maxLength loosened");
}

#[test]
fn a_tighter_numeric_range_on_input_breaks() {
    let limit = |schema: Value| doc(get_with_params(json!([query("limit", false, schema)])), json!({}));
    let at = "query parameter `limit`";
    let raised = run(
        &limit(json!({"type": "integer", "minimum": 0})),
        &limit(json!({"type": "integer", "minimum": 1})),
    );
    assert_eq!(
        only(&raised).to_string(),
        format!("BREAKING  GET /things/  {at}: minimum tightened: 0 → 1")
    );
    assert_has(
        &run(
            &limit(json!({"type": "integer", "maximum": 1000})),
            &limit(json!({"type": "integer", "exclusiveMaximum": 1000})),
        ),
        true,
        at,
        "maximum tightened",
    );
    assert_has(
        &run(
            &limit(json!({"type": "integer"})),
            &limit(json!({"type": "integer", "maximum": 1000})),
        ),
        true,
        at,
        "maximum tightened",
    );
    let wider = run(
        &limit(json!({"type": "integer", "minimum": 1, "maximum": 100})),
        &limit(json!({"type": "integer", "minimum": 0, "maximum": 1000})),
    );
    assert!(!wider.is_breaking(), "{wider}");
}

#[test]
fn a_pattern_or_format_added_to_input_breaks() {
    let param = |schema: Value| doc(get_with_params(json!([query("name", false, schema)])), json!({}));
    let at = "query parameter `name`";
    assert_has(
        &run(
            &param(json!({"type": "string"})),
            &param(json!({"type": "string", "pattern": "^[a-z]+$"})),
        ),
        true,
        at,
        "pattern added",
    );
    assert_has(
        &run(
            &param(json!({"type": "string"})),
            &param(json!({"type": "string", "format": "date-time"})),
        ),
        true,
        at,
        "format added",
    );
}

#[test]
fn a_new_required_body_field_breaks_and_a_new_optional_one_does_not() {
    let body = |properties: Value, required: Value| {
        doc(
            post_taking(json!({"$ref": "#/components/schemas/Thing"})),
            thing(properties, required),
        )
    };
    let old = body(json!({"text": {"type": "string"}}), json!(["text"]));
    let required = body(
        json!({"text": {"type": "string"}, "lang": {"type": "string"}}),
        json!(["text", "lang"]),
    );
    assert_eq!(
        only(&run(&old, &required)).to_string(),
        format!("BREAKING  POST /things/  {BODY} `lang`: new required field")
    );
    let optional = body(
        json!({"text": {"type": "string"}, "lang": {"type": "string"}}),
        json!(["text"]),
    );
    let report = run(&old, &optional);
    assert!(!report.is_breaking(), "{report}");
    assert_has(&report, false, &format!("{BODY} `lang`"), "optional field added");
}

#[test]
fn a_body_field_made_required_breaks() {
    let body = |required: Value| {
        doc(
            post_taking(
                json!({"type": "object", "properties": {"text": {"type": "string"}, "lang": {"type": "string"}}, "required": required}),
            ),
            json!({}),
        )
    };
    assert_has(
        &run(&body(json!(["text"])), &body(json!(["text", "lang"]))),
        true,
        &format!("{BODY} `lang`"),
        "field now required",
    );
}

#[test]
fn a_body_field_no_longer_read_does_not_break_unless_extra_fields_are_refused() {
    let body = |properties: Value, closed: bool| {
        let mut schema = json!({"type": "object", "properties": properties});
        if closed {
            schema["additionalProperties"] = json!(false);
        }
        doc(post_taking(schema), json!({}))
    };
    let two = json!({"text": {"type": "string"}, "mood": {"type": "string"}});
    let one = json!({"text": {"type": "string"}});
    let open = run(&body(two.clone(), false), &body(one.clone(), false));
    assert!(!open.is_breaking(), "{open}");
    assert_has(&open, false, &format!("{BODY} `mood`"), "field no longer read");
    assert_has(
        &run(&body(two, true), &body(one, true)),
        true,
        &format!("{BODY} `mood`"),
        "field no longer accepted",
    );
}

#[test]
fn a_new_required_request_body_breaks() {
    let old = doc(json!({"/things/": {"post": {"responses": {"201": {}}}}}), json!({}));
    let new = doc(post_taking(json!({"type": "object"})), json!({}));
    assert_eq!(
        only(&run(&old, &new)).to_string(),
        "BREAKING  POST /things/  request body: new required request body"
    );
}

#[test]
fn a_request_content_type_no_longer_accepted_breaks_and_a_new_one_does_not() {
    let post = |types: &[&str]| {
        let content: serde_json::Map<String, Value> = types
            .iter()
            .map(|t| (t.to_string(), json!({"schema": {"type": "object"}})))
            .collect();
        doc(
            json!({"/things/": {"post": {"requestBody": {"content": content}, "responses": {"201": {}}}}}),
            json!({}),
        )
    };
    let form = "application/x-www-form-urlencoded";
    let dropped = run(&post(&[form]), &post(&["application/json"]));
    assert_has(
        &dropped,
        true,
        &format!("request body ({form})"),
        "request content type no longer accepted",
    );
    let added = run(&post(&[form]), &post(&[form, "application/json"]));
    assert!(!added.is_breaking(), "{added}");
    assert_has(
        &added,
        false,
        "request body (application/json)",
        "request content type added",
    );
}

#[test]
fn a_changed_success_status_breaks() {
    let post = |status: &str| {
        doc(
            json!({"/things/": {"post": {"responses": {status: {}, "400": {}}}}}),
            json!({}),
        )
    };
    assert_eq!(
        only(&run(&post("201"), &post("200"))).to_string(),
        "BREAKING  POST /things/  responses: success status changed: 201 → 200"
    );
    let removed = doc(json!({"/things/": {"post": {"responses": {"400": {}}}}}), json!({}));
    assert_has(
        &run(&post("201"), &removed),
        true,
        "responses",
        "success status removed",
    );
}

#[test]
fn a_new_error_status_is_listed_and_does_not_break() {
    let old = doc(json!({"/things/": {"post": {"responses": {"201": {}}}}}), json!({}));
    let new = doc(
        json!({"/things/": {"post": {"responses": {"201": {}, "429": {}}}}}),
        json!({}),
    );
    let report = run(&old, &new);
    assert!(!report.is_breaking(), "{report}");
    assert_has(&report, false, "response 429", "error response documented");
}

#[test]
fn a_response_that_may_now_be_null_breaks_in_utoipa_and_openapi_3_0_spellings() {
    let old = doc(
        get_returning(json!({"type": "object", "properties": {"user": {"$ref": "#/components/schemas/User"}}})),
        json!({"User": {"type": "object", "properties": {"name": {"type": "string"}}}}),
    );
    let new = doc(
        get_returning(
            json!({"type": "object", "properties": {"user": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/User"}]}}}),
        ),
        json!({"User": {"type": "object", "properties": {"name": {"type": "string"}}}}),
    );
    assert_eq!(
        only(&run(&old, &new)).to_string(),
        "BREAKING  GET /things/  response 200 (application/json) `user`: null now allowed: not null → nullable"
    );
    let v30 = |nullable: bool| {
        json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": get_returning(
            json!({"type": "object", "properties": {"name": {"type": "string", "nullable": nullable}}})
        )})
    };
    assert_has(
        &run(&v30(false), &v30(true)),
        true,
        &format!("{OK} `name`"),
        "null now allowed",
    );
    // 3.1 type lists, in a request: null no longer accepted.
    let param = |t: Value| {
        doc(
            get_with_params(json!([query("after", false, json!({"type": t}))])),
            json!({}),
        )
    };
    assert_has(
        &run(&param(json!(["integer", "null"])), &param(json!("integer"))),
        true,
        "query parameter `after`",
        "null no longer allowed",
    );
}

#[test]
fn fields_of_all_of_members_are_compared() {
    let schema = |extra: Value| json!({"allOf": [{"$ref": "#/components/schemas/Base"}, {"type": "object", "properties": extra}]});
    let base = json!({"Base": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}});
    let old = doc(get_returning(schema(json!({"text": {"type": "string"}}))), base.clone());
    let new = doc(get_returning(schema(json!({}))), base);
    assert_has(&run(&old, &new), true, &format!("{OK} `text`"), "field removed");
}

#[test]
fn a_recursive_schema_is_compared_without_looping() {
    let node = |child: &str| {
        json!({"Node": {"type": "object", "properties": {
            "name": {"type": "string"},
            child: {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}
        }}})
    };
    let schema = json!({"$ref": "#/components/schemas/Node"});
    let report = run(
        &doc(get_returning(schema.clone()), node("children")),
        &doc(get_returning(schema), node("kids")),
    );
    assert_has(&report, true, &format!("{OK} `children`"), "field removed");
    assert_has(&report, false, &format!("{OK} `kids`"), "field added");
}

#[test]
fn documents_that_are_not_openapi_3_or_hold_a_dangling_ref_are_refused() {
    let good = doc(json!({}), json!({}));
    let swagger2 = json!({"swagger": "2.0", "paths": {}});
    assert!(compare(&swagger2, &good).is_err());
    assert!(compare(&good, &json!({"openapi": "2.0", "paths": {}})).is_err());
    let dangling = doc(
        get_returning(json!({"$ref": "#/components/schemas/Missing"})),
        json!({}),
    );
    let other = doc(get_returning(json!({"type": "object"})), json!({}));
    let error = compare(&other, &dangling).expect_err("a dangling $ref is an error");
    assert!(error.to_string().contains("#/components/schemas/Missing"), "{error}");
}

#[test]
fn descriptions_examples_and_info_are_not_compared() {
    let old = doc(
        get_returning(json!({"type": "string", "description": "old", "example": "a"})),
        json!({}),
    );
    let mut new = doc(
        get_returning(json!({"type": "string", "description": "new", "example": "b"})),
        json!({}),
    );
    new["info"]["version"] = json!("2.0.0");
    new["paths"]["/things/"]["get"]["summary"] = json!("Things");
    let report = run(&old, &new);
    assert!(report.findings.is_empty(), "{report}");
}

#[test]
fn a_report_lists_breaking_findings_first_with_counts() {
    let old = doc(json!({"/a/": {"get": {"responses": {"200": {}}}}}), json!({}));
    let new = doc(json!({"/b/": {"get": {"responses": {"200": {}}}}}), json!({}));
    assert_eq!(
        run(&old, &new).to_string(),
        "1 breaking, 1 non-breaking change(s)\n  BREAKING  /a/: path removed\n  ok        /b/: path added\n"
    );
}
