//! Unit tests: fake callers answer from the recorded TrueNAS session
//! (`../shared/fixtures/truenas-hierarchical/session.json`, read at test time)
//! or from `tests/servers/hier_server.py` spoken to directly over a pipe.

use super::*;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shared() -> PathBuf {
    std::env::var_os("MCP_CATALOGUE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("..").join("shared"))
}

fn session() -> Value {
    let p = shared().join("fixtures/truenas-hierarchical/session.json");
    let s = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&s).unwrap()
}

fn shipped() -> Recipes {
    Recipes::load(&root().join("rules/expanders")).unwrap()
}

fn truenas_toml() -> String {
    std::fs::read_to_string(root().join("rules/expanders/truenas.toml")).unwrap()
}

fn recipes_of(toml_text: &str) -> Recipes {
    let mut r = Recipes::default();
    r.add(Recipe::from_toml(toml_text, Path::new("test.toml")).unwrap())
        .unwrap();
    r
}

fn spec(name: &str, expand: Option<&str>) -> ServerSpec {
    ServerSpec {
        name: name.to_string(),
        transport: crate::model::Transport::Stdio {
            command: "x".into(),
            args: vec![],
            env: Default::default(),
            cwd: None,
        },
        timeout: None,
        product: None,
        expand: expand.map(str::to_string),
        vendor: None,
    }
}

fn text(t: &str) -> Value {
    json!({"content": [{"type": "text", "text": t}]})
}

/// Answers recorded calls; anything else gets an `isError` result, as the
/// replay server does.
#[derive(Default)]
struct Fake {
    answers: Vec<(String, Value, Value)>,
    fail: Vec<(Value, String)>,
    delay: Option<Duration>,
    log: Vec<(String, Value)>,
}

impl Fake {
    fn truenas() -> Fake {
        let s = session();
        let mut f = Fake::default();
        for (tool, calls) in s["tool_calls"].as_object().unwrap() {
            for c in calls.as_array().unwrap() {
                f.answers
                    .push((tool.clone(), c["arguments"].clone(), c["result"].clone()));
            }
        }
        f
    }

    fn answer_mut(&mut self, args: &Value) -> &mut Value {
        &mut self
            .answers
            .iter_mut()
            .find(|(_, a, _)| a == args)
            .unwrap()
            .2
    }
}

impl Caller for Fake {
    async fn call(&mut self, tool: &str, args: Value) -> Result<Value, String> {
        self.log.push((tool.to_string(), args.clone()));
        if let Some(d) = self.delay {
            tokio::time::sleep(d).await;
        }
        if let Some((_, e)) = self.fail.iter().find(|(a, _)| a == &args) {
            return Err(e.clone());
        }
        for (t, a, r) in &self.answers {
            if t == tool && a == &args {
                return Ok(r.clone());
            }
        }
        Ok(
            json!({"content": [{"type": "text", "text": "Error: no answer for that call"}], "isError": true}),
        )
    }
}

fn truenas_tools() -> Vec<ToolRecord> {
    session()["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| ToolRecord::from_raw("nas", t.clone()))
        .collect()
}

const DEADLINE: Duration = Duration::from_secs(30);

async fn expand_truenas(fake: &mut Fake, recipes: &Recipes, expand: Option<&str>) -> Expansion {
    expand_server(
        fake,
        &spec("nas", expand),
        &truenas_tools(),
        recipes,
        DEADLINE,
    )
    .await
    .unwrap()
}

fn find<'a>(e: &'a Expansion, name: &str) -> &'a ToolRecord {
    e.actions
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no action {name}"))
}

fn required(t: &ToolRecord) -> Vec<&str> {
    t.input_schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn truenas_fixture_expands_every_action() {
    let mut fake = Fake::truenas();
    let tools = truenas_tools();
    let e = expand_truenas(&mut fake, &shipped(), None).await;
    assert!(e.warnings.is_empty(), "{:#?}", e.warnings);
    assert_eq!(e.calls, 19);
    assert_eq!(e.actions.len(), 278);
    assert_eq!(
        e.actions.len() + tools.len(),
        279,
        "umbrella kept by the caller"
    );

    let mut names: BTreeSet<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    for a in &e.actions {
        assert!(names.insert(&a.name), "duplicate name {}", a.name);
        assert_eq!(a.server, "nas");
        assert_eq!(a.parent.as_deref(), Some("truenas"));
        assert!(a.flags.is_empty(), "{}: {:?}", a.name, a.flags);
        assert!(
            a.description.as_deref().is_some_and(|d| !d.is_empty()),
            "{}",
            a.name
        );
        let sel = a.selector.as_ref().unwrap();
        assert_eq!(
            sel,
            &json!({"category": a.category.as_deref().unwrap(), "action": a.name})
        );
        assert_eq!(a.raw["recipe"], "truenas");
        assert_eq!(a.raw["synthetic"], true);
        assert_eq!(a.input_schema["type"], "object");
        // Every required parameter is a listed property.
        for r in required(a) {
            assert!(
                a.input_schema["properties"].get(r).is_some(),
                "{}: {r}",
                a.name
            );
        }
    }
    let cats: BTreeSet<&str> = e
        .actions
        .iter()
        .filter_map(|a| a.category.as_deref())
        .collect();
    assert_eq!(cats.len(), 18);
    for c in [
        "system",
        "storage",
        "sharing",
        "network",
        "account",
        "disk",
        "vm",
        "app",
        "update",
        "certificate",
        "alert",
        "data_protection",
        "filesystem",
        "reporting",
        "directory",
        "service_config",
        "audit",
        "api",
    ] {
        assert!(cats.contains(c), "{c}");
    }
    assert_eq!(
        e.actions
            .iter()
            .filter(|a| a.category.as_deref() == Some("sharing"))
            .count(),
        36
    );
    assert_eq!(
        e.actions
            .iter()
            .filter(|a| a.category.as_deref() == Some("data_protection"))
            .count(),
        49
    );

    // Spot checks against the fixture's text.
    let pe = find(&e, "pool_export");
    assert_eq!(pe.category.as_deref(), Some("storage"));
    assert_eq!(required(pe), ["id", "cascade", "destroy", "confirm"]);
    assert_eq!(
        pe.description.as_deref(),
        Some("Export (disconnect) a pool (destructive — requires confirm)")
    );
    assert_eq!(
        pe.input_schema["properties"]["destroy"]["description"],
        "Destroy data on the pool (DANGEROUS)"
    );

    let s = find(&e, "iscsi_sessions");
    assert_eq!(s.category.as_deref(), Some("sharing"));
    assert_eq!(s.description.as_deref(), Some("Get active iSCSI sessions"));
    assert_eq!(
        s.selector,
        Some(json!({"category": "sharing", "action": "iscsi_sessions"}))
    );
    assert_eq!(
        s.input_schema,
        json!({"type": "object", "properties": {}, "required": []})
    );

    let r = find(&e, "system_reboot");
    assert_eq!(r.category.as_deref(), Some("system"));
    assert_eq!(required(r), ["confirm"]);
    assert_eq!(
        r.input_schema["properties"]["delay"]["description"],
        "Delay in seconds before rebooting (default: 0)"
    );
    assert_eq!(
        r.raw["params"][1],
        json!({"name": "delay", "description": "Delay in seconds before rebooting (default: 0)", "required": false})
    );
    assert_eq!(r.raw["params_argument"], "params");

    let g = find(&e, "system_general_update");
    assert!(required(g).is_empty());
    assert_eq!(g.input_schema["properties"].as_object().unwrap().len(), 8);
    assert_eq!(
        g.input_schema["properties"]["timezone"]["description"],
        "System timezone, e.g. 'America/New_York'"
    );

    let t = find(&e, "iscsi_targetextent_delete");
    assert_eq!(required(t), ["id", "confirm"]);
    assert!(t.input_schema["properties"].get("force").is_some());
}

#[tokio::test]
async fn named_recipe_gives_the_same_actions() {
    let mut a = Fake::truenas();
    let mut b = Fake::truenas();
    let auto = expand_truenas(&mut a, &shipped(), None).await;
    let named = expand_truenas(&mut b, &shipped(), Some("truenas")).await;
    assert!(named.warnings.is_empty(), "{:#?}", named.warnings);
    assert_eq!(auto.actions, named.actions);
}

#[tokio::test]
async fn only_discovery_calls_are_made() {
    let mut fake = Fake::truenas();
    expand_truenas(&mut fake, &shipped(), None).await;
    assert_eq!(fake.log.len(), 19);
    assert_eq!(fake.log[0], ("truenas".to_string(), json!({})));
    for (tool, args) in &fake.log[1..] {
        assert_eq!(tool, "truenas");
        let o = args.as_object().unwrap();
        assert_eq!(o.len(), 1, "{args}");
        assert!(o["category"].is_string());
    }
}

#[test]
fn the_guard_refuses_anything_but_discovery() {
    let r = shipped();
    let r = r.get("truenas").unwrap();
    assert!(r.check_discovery("truenas", "truenas", &json!({})).is_ok());
    assert!(r
        .check_discovery("truenas", "truenas", &json!({"category": "storage"}))
        .is_ok());
    for bad in [
        json!({"category": "storage", "action": "pool_export"}),
        json!({"category": "storage", "action": "pool_export", "params": {"id": 1, "confirm": true}}),
        json!({"category": "storage", "params": {}}),
        json!({"category": "storage", "x": 1}),
        json!({"category": 5}),
        json!({"category": ""}),
        json!({"action": "pool_export"}),
    ] {
        let e = r.check_discovery("truenas", "truenas", &bad).unwrap_err();
        assert!(e.starts_with("refusing to call truenas("), "{e}");
    }
    assert!(r.check_discovery("truenas", "other", &json!({})).is_err());
}

#[test]
fn a_discovery_template_that_could_address_an_action_is_rejected() {
    let src = truenas_toml().replace(
        r#"call = { category = "{category}" }"#,
        r#"call = { category = "{category}", action = "help" }"#,
    );
    let e = Recipe::from_toml(&src, Path::new("rules/expanders/bad.toml")).unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("rules/expanders/bad.toml:"), "{msg}");
    assert!(msg.contains("could address an action"), "{msg}");

    let src = truenas_toml().replace(
        r#"call = { category = "{category}" }"#,
        r#"call = { category = "{category}", params = {} }"#,
    );
    assert!(Recipe::from_toml(&src, Path::new("bad.toml")).is_err());
}

#[tokio::test]
async fn ordinary_truenas_tools_are_not_expanded() {
    let tools: Vec<ToolRecord> = [
        json!({"name": "list_pools", "description": "List TrueNAS pools", "inputSchema": {"type": "object", "properties": {}}}),
        json!({"name": "get_system_info", "description": "Get TrueNAS system information (version, hostname, uptime)",
               "inputSchema": {"type": "object", "properties": {}}}),
        json!({"name": "list_datasets", "description": "List TrueNAS datasets, optionally in a category",
               "inputSchema": {"type": "object", "properties": {"category": {"type": "string"}, "pool": {"type": "string"}}}}),
        json!({"name": "manage_share", "description": "Manage TrueNAS shares. action: create or delete",
               "inputSchema": {"type": "object", "properties": {"action": {"type": "string"}, "params": {"type": "object"}}}}),
        json!({"name": "truenas", "description": "Run a TrueNAS action",
               "inputSchema": {"type": "object", "properties": {"category": {}, "action": {}, "params": {}}}}),
    ]
    .into_iter()
    .map(|t| ToolRecord::from_raw("truenas-ws-mcp", t))
    .collect();
    let recipes = shipped();
    for t in &tools {
        for r in recipes.iter() {
            assert!(
                !r.applies_to("truenas-ws-mcp", t),
                "{} fits {}",
                r.name,
                t.name
            );
        }
    }
    let mut fake = Fake::default();
    let e = expand_server(
        &mut fake,
        &spec("truenas-ws-mcp", None),
        &tools,
        &recipes,
        DEADLINE,
    )
    .await
    .unwrap();
    assert_eq!((e.calls, e.actions.len(), e.warnings.len()), (0, 0, 0));
    assert!(fake.log.is_empty());

    // Named but fitting no tool: a warning, still no call.
    let e = expand_server(
        &mut fake,
        &spec("truenas-ws-mcp", Some("truenas")),
        &tools,
        &recipes,
        DEADLINE,
    )
    .await
    .unwrap();
    assert_eq!((e.calls, e.actions.len()), (0, 0));
    assert_eq!(e.warnings.len(), 1);
    assert!(
        e.warnings[0].starts_with(
            r#"server "truenas-ws-mcp": recipe "truenas": the server entry names this recipe"#
        ),
        "{}",
        e.warnings[0]
    );
    assert!(fake.log.is_empty());
}

#[tokio::test]
async fn unknown_recipe_is_an_error_naming_server_recipe_and_choices() {
    let mut fake = Fake::default();
    let err = expand_server(
        &mut fake,
        &spec("nas", Some("truenass")),
        &truenas_tools(),
        &shipped(),
        DEADLINE,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, ExpandError::UnknownRecipe { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains(r#"server "nas""#) && msg.contains(r#""truenass""#),
        "{msg}"
    );
    assert!(
        msg.contains("markdown-catalog") && msg.contains("truenas"),
        "{msg}"
    );
    assert!(fake.log.is_empty());
}

#[tokio::test]
async fn a_failing_discovery_call_warns_and_the_rest_is_kept() {
    let mut fake = Fake::truenas();
    fake.fail.push((
        json!({"category": "storage"}),
        "tools/call: connection reset".into(),
    ));
    *fake.answer_mut(&json!({"category": "sharing"})) = json!({"content": [{"type": "text", "text": "Error: TrueNAS unreachable"}], "isError": true});
    let e = expand_truenas(&mut fake, &shipped(), None).await;
    assert_eq!(e.actions.len(), 278 - 32 - 36);
    assert_eq!(e.calls, 19);
    assert_eq!(e.warnings.len(), 2, "{:#?}", e.warnings);
    assert_eq!(
        e.warnings[0],
        r#"server "nas": recipe "truenas": call truenas({"category":"storage"}) failed: tools/call: connection reset"#
    );
    assert_eq!(
        e.warnings[1],
        r#"server "nas": recipe "truenas": call truenas({"category":"sharing"}) failed: the server answered an error: Error: TrueNAS unreachable"#
    );
    assert!(e
        .actions
        .iter()
        .all(|a| !matches!(a.category.as_deref(), Some("storage" | "sharing"))));

    // The root call failing leaves nothing to expand, and says so once.
    let mut fake = Fake::truenas();
    fake.fail
        .push((json!({}), "tools/call: timed out after 30s".into()));
    let e = expand_truenas(&mut fake, &shipped(), None).await;
    assert_eq!((e.calls, e.actions.len(), e.warnings.len()), (1, 0, 1));
    assert!(
        e.warnings[0].contains("call truenas({}) failed: tools/call: timed out"),
        "{}",
        e.warnings[0]
    );
}

#[tokio::test]
async fn a_recipe_whose_expressions_match_nothing_warns_and_keeps_going() {
    // Level 2 broken: every category listing warns, every listing is still tried.
    let src = truenas_toml().replace(
        r#"item = '(?m)^[ \t]{1,3}(?P<name>"#,
        r#"item = '(?m)^NEVER[ \t]{1,3}(?P<name>"#,
    );
    assert_ne!(src, truenas_toml());
    let mut fake = Fake::truenas();
    let e = expand_truenas(&mut fake, &recipes_of(&src), None).await;
    assert_eq!((e.calls, e.actions.len(), e.warnings.len()), (19, 0, 18));
    assert!(
        e.warnings[0].starts_with(r#"server "nas": recipe "truenas": call truenas({"category":"system"}): the recipe's level 2 expressions matched nothing"#),
        "{}",
        e.warnings[0]
    );

    // Level 1 broken: one warning, one call.
    let src = truenas_toml().replace(
        r#"\((?P<count>\d+) actions?\)"#,
        r#"\((?P<count>\d+) tools\)"#,
    );
    assert_ne!(src, truenas_toml());
    let mut fake = Fake::truenas();
    let e = expand_truenas(&mut fake, &recipes_of(&src), None).await;
    assert_eq!((e.calls, e.actions.len(), e.warnings.len()), (1, 0, 1));
    assert!(e.warnings[0]
        .contains("call truenas({}): the recipe's level 1 expressions matched nothing"));

    // One unreadable category among good ones.
    let mut fake = Fake::truenas();
    *fake.answer_mut(&json!({"category": "disk"})) = text("Category: disk\n\nSomething changed.");
    let e = expand_truenas(&mut fake, &shipped(), None).await;
    assert_eq!(e.actions.len(), 278 - 7);
    assert_eq!(e.warnings.len(), 1, "{:#?}", e.warnings);
    assert!(e.warnings[0].contains(r#"call truenas({"category":"disk"})"#));
}

#[tokio::test]
async fn duplicate_action_names_are_qualified_with_their_category() {
    let mut fake = Fake::truenas();
    let disk = fake.answer_mut(&json!({"category": "disk"}));
    let t = disk["content"][0]["text"].as_str().unwrap().to_string();
    disk["content"][0]["text"] = json!(format!(
        "{t}\n  pool_export — Export a disk pool\n    Required: disk (Disk name)\n"
    ));
    let e = expand_truenas(&mut fake, &shipped(), None).await;
    assert_eq!(e.actions.len(), 279);
    assert!(e.actions.iter().all(|a| a.name != "pool_export"));
    let a = find(&e, "storage.pool_export");
    assert_eq!(
        a.selector,
        Some(json!({"category": "storage", "action": "pool_export"}))
    );
    assert_eq!(a.raw["name"], "pool_export");
    let b = find(&e, "disk.pool_export");
    assert_eq!(required(b), ["disk"]);
    let names: BTreeSet<&str> = e.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names.len(), 279);
    // One warning for the announced count (7 said, 8 found) and one for the rename.
    assert_eq!(e.warnings.len(), 2, "{:#?}", e.warnings);
    assert!(
        e.warnings[0].contains("listed 8 items but the listing above announced 7"),
        "{}",
        e.warnings[0]
    );
    assert!(e.warnings[1].contains(r#"action "pool_export": it is listed more than once; catalogued as "storage.pool_export" (category "storage"), "disk.pool_export" (category "disk")"#), "{}", e.warnings[1]);
}

#[tokio::test]
async fn max_calls_bounds_the_walk() {
    let src = truenas_toml().replace("max_calls = 200", "max_calls = 5");
    let mut fake = Fake::truenas();
    let e = expand_truenas(&mut fake, &recipes_of(&src), None).await;
    assert_eq!(e.calls, 5);
    assert_eq!(fake.log.len(), 5);
    assert_eq!(e.actions.len(), 24 + 32 + 36 + 15);
    assert_eq!(e.warnings.len(), 1);
    assert!(
        e.warnings[0].contains("stopped at max_calls = 5; 14 listings not fetched"),
        "{}",
        e.warnings[0]
    );
}

#[tokio::test]
async fn the_deadline_bounds_the_walk() {
    let mut fake = Fake::truenas();
    fake.delay = Some(Duration::from_millis(40));
    let e = expand_server(
        &mut fake,
        &spec("nas", None),
        &truenas_tools(),
        &shipped(),
        Duration::from_millis(150),
    )
    .await
    .unwrap();
    assert!(e.calls >= 1 && e.calls <= 5, "{}", e.calls);
    assert!(e.actions.len() < 278);
    assert_eq!(e.warnings.len(), 1, "{:#?}", e.warnings);
    assert!(
        e.warnings[0].contains("deadline of 0.1s") || e.warnings[0].contains("within the deadline"),
        "{}",
        e.warnings[0]
    );
}

/// Three levels, JSON then JSON then text; category and selector templates.
const THREE_LEVELS: &str = r#"
name = "three"
[match]
tool = '^hub$'

[[level]]
var = "area"
call = {}
[level.json]
items = "areas"

[[level]]
var = "group"
call = { area = "{area}" }
[level.json]
items = "$.groups"
name = "id"
count = "n"

[[level]]
var = "op"
call = { area = "{area}", group = "{group}", list = true }
[level.text]
item = '(?m)^\* (?P<name>\S+): (?P<description>.*)$'
[[level.text.param]]
list = '(?m)^  args: (?P<list>.*)$'
item = '(?P<name>\w+)(?P<required>!)?'

[action]
selector = { call = "{area}/{group}/{op}" }
params_arg = "args"
"#;

#[tokio::test]
async fn three_levels_with_json_and_text() {
    let mut fake = Fake::default();
    let hub = |a: Value, r: Value| ("hub".to_string(), a, r);
    fake.answers = vec![
        hub(json!({}), text(r#"{"areas": ["net", "disk"]}"#)),
        hub(
            json!({"area": "net"}),
            text(r#"{"groups": [{"id": "if", "n": 2}]}"#),
        ),
        hub(
            json!({"area": "disk"}),
            text(r#"{"groups": [{"id": "smart", "n": 1}, {"id": "bad\nname"}]}"#),
        ),
        hub(
            json!({"area": "net", "group": "if", "list": true}),
            text("* up: Bring up\n  args: name!, mtu\n* ../down: Bring down\n"),
        ),
        hub(
            json!({"area": "disk", "group": "smart", "list": true}),
            text("* up: Run a test\n"),
        ),
    ];
    let tools = vec![ToolRecord::from_raw(
        "s",
        json!({"name": "hub", "inputSchema": {"type": "object"}}),
    )];
    let e = expand_server(
        &mut fake,
        &spec("s", None),
        &tools,
        &recipes_of(THREE_LEVELS),
        DEADLINE,
    )
    .await
    .unwrap();
    assert_eq!(e.calls, 5);
    let names: Vec<&str> = e.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["net.if.up", "../down", "disk.smart.up"]);
    let up = &e.actions[0];
    assert_eq!(up.category.as_deref(), Some("net.if"));
    assert_eq!(up.selector, Some(json!({"call": "net/if/up"})));
    assert_eq!(
        up.input_schema,
        json!({"type": "object", "properties": {"name": {}, "mtu": {}}, "required": ["name"]})
    );
    assert_eq!(
        up.raw["path"],
        json!({"area": "net", "group": "if", "op": "up"})
    );
    assert_eq!(e.actions[1].flags, ["unsafe-name"]);
    assert!(e.actions[2].flags.is_empty());
    // "bad\nname" cannot go into a call; "up" twice is qualified.
    assert!(
        e.warnings
            .iter()
            .any(|w| w.contains("not a usable group name")),
        "{:#?}",
        e.warnings
    );
    assert!(
        e.warnings
            .iter()
            .any(|w| w.contains(r#"action "up": it is listed more than once"#)),
        "{:#?}",
        e.warnings
    );
}

#[test]
fn recipe_errors_name_the_file_and_position() {
    let e = Recipe::from_toml(
        "name = \"x\"\nmax_call = 3\n",
        Path::new("rules/expanders/x.toml"),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ExpandError::Parse { .. }));
    assert!(
        msg.contains("rules/expanders/x.toml") && msg.contains("line 2"),
        "{msg}"
    );
    assert!(msg.contains("max_call"), "{msg}");

    let src = truenas_toml().replace(r#"(?P<count>\d+)"#, r#"(?P<count>\d+"#);
    let line = src
        .lines()
        .position(|l| l.contains(r#"(?P<count>\d+ "#))
        .unwrap()
        + 1;
    let e = Recipe::from_toml(&src, Path::new("t.toml")).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!(
            "t.toml:{line}:8: invalid regex in level 1 text.item"
        )),
        "{msg}"
    );

    let src = truenas_toml().replace(r#"action = "{action}""#, r#"action = "{actoin}""#);
    let msg = Recipe::from_toml(&src, Path::new("t.toml"))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("{actoin}, which no level binds"), "{msg}");

    let src = truenas_toml().replace(
        "(?P<name>[A-Za-z0-9_.-]+)[ \\t]+\\((?P<count>",
        "(?P<nom>[A-Za-z0-9_.-]+)[ \\t]+\\((?P<count>",
    );
    let msg = Recipe::from_toml(&src, Path::new("t.toml"))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("needs a named group (?P<name>...)"), "{msg}");
}

#[test]
fn loading_recipes() {
    let r = shipped();
    assert!(
        r.names().contains(&"truenas") && r.names().contains(&"markdown-catalog"),
        "{:?}",
        r.names()
    );
    assert_eq!(r.get("truenas").unwrap().max_calls, 200);
    assert!(r.get("nope").is_none());
    let missing = Recipes::load(&root().join("no-such-dir")).unwrap();
    assert!(missing.names().is_empty());

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.toml"), truenas_toml()).unwrap();
    std::fs::write(dir.path().join("b.toml"), truenas_toml()).unwrap();
    std::fs::write(dir.path().join("README.md"), "not a recipe").unwrap();
    let msg = Recipes::load(dir.path()).unwrap_err().to_string();
    assert!(
        msg.contains("\"truenas\" is defined twice")
            && msg.contains("a.toml")
            && msg.contains("b.toml"),
        "{msg}"
    );
}

/// Speaks newline-delimited JSON-RPC to `tests/servers/hier_server.py`
/// directly, so the markdown-catalog recipe is tested without the MCP client.
struct Pipe {
    child: std::process::Child,
    out: std::io::BufReader<std::process::ChildStdout>,
    id: u64,
}

impl Pipe {
    fn start(log: &Path) -> Pipe {
        let mut child = std::process::Command::new("python3")
            .arg(root().join("tests/servers/hier_server.py"))
            .env("HIER_LOG", log)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = std::io::BufReader::new(child.stdout.take().unwrap());
        Pipe { child, out, id: 0 }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        use std::io::{BufRead, Write};
        self.id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": self.id, "method": method, "params": params});
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{msg}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        self.out.read_line(&mut line).unwrap();
        let v: Value = serde_json::from_str(&line).unwrap();
        v["result"].clone()
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Caller for Pipe {
    async fn call(&mut self, tool: &str, args: Value) -> Result<Value, String> {
        Ok(self.request("tools/call", json!({"name": tool, "arguments": args})))
    }
}

#[tokio::test]
async fn markdown_catalog_recipe_expands_the_hier_server() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let mut pipe = Pipe::start(&log);
    let listed = pipe.request("tools/list", json!({}));
    let tools: Vec<ToolRecord> = listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| ToolRecord::from_raw("hier", t.clone()))
        .collect();
    let recipes = shipped();
    assert!(!recipes
        .get("truenas")
        .unwrap()
        .applies_to("hier", &tools[0]));
    let e = expand_server(&mut pipe, &spec("hier", None), &tools, &recipes, DEADLINE)
        .await
        .unwrap();
    drop(pipe);
    assert_eq!(e.calls, 4);
    let names: Vec<&str> = e.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "read_file",
            "write_file",
            "delete_file",
            "files.list",
            "users.list",
            "create_user",
            "delete_user",
            "status",
            "reboot"
        ]
    );
    assert_eq!(e.warnings.len(), 1, "{:#?}", e.warnings);
    assert!(e.warnings[0].starts_with(
        r#"server "hier": recipe "markdown-catalog": action "list": it is listed more than once"#
    ));

    let w = find(&e, "write_file");
    assert_eq!(w.parent.as_deref(), Some("ops"));
    assert_eq!(w.category.as_deref(), Some("files"));
    assert_eq!(
        w.selector,
        Some(json!({"op": "run", "group": "files", "action": "write_file"}))
    );
    assert_eq!(
        w.input_schema,
        json!({"type": "object", "properties": {
            "path": {"type": "string", "description": "file to write"},
            "content": {"type": "string", "description": "text to write"},
            "append": {"type": "boolean", "description": "append instead of replacing"}},
            "required": ["path", "content"]})
    );
    assert_eq!(w.raw["recipe"], "markdown-catalog");
    assert!(find(&e, "delete_file")
        .description
        .as_deref()
        .unwrap()
        .contains("irreversibly"));
    assert_eq!(
        find(&e, "read_file").input_schema["properties"]["encoding"]["description"],
        "text encoding, default utf-8"
    );
    assert_eq!(find(&e, "status").input_schema["properties"], json!({}));
    assert_eq!(
        find(&e, "users.list").selector,
        Some(json!({"op": "run", "group": "users", "action": "list"}))
    );
    assert_eq!(required(find(&e, "reboot")), ["confirm"]);

    // The server saw only discovery calls.
    let calls: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[0]["arguments"], json!({"op": "groups"}));
    for c in &calls[1..] {
        assert_eq!(c["arguments"]["op"], "group");
    }
}

#[tokio::test]
async fn one_level_json_listing_with_schemas() {
    let src = r#"
name = "tool-search"
[match]
tool = '^search_tools$'
properties = ["query"]

[[level]]
var = "tool"
call = { query = "" }
[level.json]
items = "/tools"
description = "description"
params = "inputSchema"

[action]
selector = { tool = "{tool}" }
params_arg = "arguments"
"#;
    let mut fake = Fake::default();
    fake.answers.push((
        "search_tools".into(),
        json!({"query": ""}),
        text(
            r#"{"tools": [{"name": "a", "description": "Do A", "inputSchema": {"type": "object",
                "properties": {"x": {"type": "integer", "description": "X"}, "y": {}}, "required": ["x"]}},
                {"name": "b"}]}"#,
        ),
    ));
    let tools = vec![ToolRecord::from_raw(
        "s",
        json!({"name": "search_tools", "inputSchema": {"type": "object", "properties": {"query": {}}}}),
    )];
    let e = expand_server(
        &mut fake,
        &spec("s", None),
        &tools,
        &recipes_of(src),
        DEADLINE,
    )
    .await
    .unwrap();
    assert!(e.warnings.is_empty(), "{:#?}", e.warnings);
    assert_eq!(e.calls, 1);
    assert_eq!(e.actions.len(), 2);
    let a = &e.actions[0];
    assert_eq!((a.name.as_str(), a.category.as_deref()), ("a", None));
    assert_eq!(a.selector, Some(json!({"tool": "a"})));
    assert_eq!(a.description.as_deref(), Some("Do A"));
    assert_eq!(
        a.input_schema,
        json!({"type": "object", "properties": {"x": {"type": "integer", "description": "X"}, "y": {}},
               "required": ["x"]})
    );
    assert_eq!(
        e.actions[1].input_schema,
        json!({"type": "object", "properties": {}, "required": []})
    );
    assert!(fake
        .log
        .iter()
        .all(|(t, a)| t == "search_tools" && a == &json!({"query": ""})));
}
