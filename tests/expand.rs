//! Expansion through the real MCP client: the recorded TrueNAS server
//! (mcp-replay, one tool hiding 278 actions) and `tests/servers/hier_server.py`
//! (a JSON + markdown listing), both expanded by the recipes shipped in
//! `rules/expanders/` with no code specific to either.

mod common;

use mcp_catalogue::expand::{expand_server, ExpandError, Expansion, Recipes};
use mcp_catalogue::mcp::{Limits, Session};
use mcp_catalogue::model::{Launch, ServerSpec, ToolRecord, Transport};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

fn limits() -> Limits {
    Limits {
        spawn: Duration::from_secs(20),
        initialize: Duration::from_secs(20),
        page: Duration::from_secs(20),
        call: Duration::from_secs(20),
        ..Limits::default()
    }
}

fn env(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut e = vec![(
        "PATH".to_string(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
    )];
    e.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    e
}

fn python(args: Vec<String>, extra: &[(&str, &str)]) -> Launch {
    Launch::Stdio {
        program: "python3".into(),
        args,
        env: env(extra),
        cwd: None,
    }
}

fn replay(page_size: Option<usize>) -> Launch {
    let mut args = vec![
        common::replay().display().to_string(),
        common::truenas_session().display().to_string(),
    ];
    if let Some(n) = page_size {
        args.extend(["--page-size".to_string(), n.to_string()]);
    }
    python(args, &[])
}

fn hier(extra: &[(&str, &str)]) -> Launch {
    python(
        vec![common::root()
            .join("tests/servers/hier_server.py")
            .display()
            .to_string()],
        extra,
    )
}

fn spec(name: &str, expand: Option<&str>) -> ServerSpec {
    ServerSpec {
        name: name.to_string(),
        transport: Transport::Stdio {
            command: "python3".into(),
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

fn recipes() -> Recipes {
    Recipes::load(&common::root().join("rules/expanders")).unwrap()
}

/// Connect, list every page, expand, close.
async fn crawl(
    launch: &Launch,
    spec: &ServerSpec,
) -> (Vec<ToolRecord>, Result<Expansion, ExpandError>) {
    let mut s = Session::connect(launch, &limits()).await.unwrap();
    let list = s.list_tools().await.unwrap();
    let tools: Vec<ToolRecord> = list
        .tools
        .into_iter()
        .map(|t| ToolRecord::from_raw(&spec.name, t))
        .collect();
    let e = expand_server(&mut s, spec, &tools, &recipes(), Duration::from_secs(60)).await;
    s.close().await;
    (tools, e)
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

fn check_truenas(tools: &[ToolRecord], e: &Expansion) {
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0].name, "truenas");
    assert!(e.warnings.is_empty(), "{:#?}", e.warnings);
    assert_eq!(e.calls, 19);
    assert_eq!(e.actions.len(), 278);
    assert_eq!(tools.len() + e.actions.len(), 279);
    let mut names: BTreeSet<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert!(
        e.actions.iter().all(|a| names.insert(&a.name)),
        "names unique within the server"
    );
    let cats: BTreeSet<&str> = e
        .actions
        .iter()
        .filter_map(|a| a.category.as_deref())
        .collect();
    assert_eq!(cats.len(), 18);
    assert!(e
        .actions
        .iter()
        .all(|a| a.parent.as_deref() == Some("truenas") && a.flags.is_empty()));

    let pe = find(e, "pool_export");
    assert_eq!(pe.category.as_deref(), Some("storage"));
    assert_eq!(required(pe), ["id", "cascade", "destroy", "confirm"]);
    assert_eq!(
        pe.selector,
        Some(json!({"category": "storage", "action": "pool_export"}))
    );
    let s = find(e, "iscsi_sessions");
    assert_eq!(s.category.as_deref(), Some("sharing"));
    assert_eq!(s.description.as_deref(), Some("Get active iSCSI sessions"));
    assert_eq!(
        s.selector,
        Some(json!({"category": "sharing", "action": "iscsi_sessions"}))
    );
}

#[tokio::test]
async fn truenas_replay_expands_by_match_rule() {
    let spec = spec("truenas-mcp", None);
    let (tools, e) = crawl(&replay(Some(1)), &spec).await;
    check_truenas(&tools, &e.unwrap());
}

#[tokio::test]
async fn truenas_replay_expands_by_name() {
    let spec = spec("truenas-mcp", Some("truenas"));
    let (tools, e) = crawl(&replay(None), &spec).await;
    check_truenas(&tools, &e.unwrap());
}

#[tokio::test]
async fn an_unknown_recipe_name_is_an_error() {
    let spec = spec("truenas-mcp", Some("no-such-recipe"));
    let (_, e) = crawl(&replay(None), &spec).await;
    let msg = e.unwrap_err().to_string();
    assert!(
        msg.contains(r#"server "truenas-mcp""#) && msg.contains(r#""no-such-recipe""#),
        "{msg}"
    );
    assert!(
        msg.contains("truenas") && msg.contains("markdown-catalog"),
        "{msg}"
    );
}

fn logged_calls(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn hier_server_expands_with_the_markdown_catalog_recipe() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let log_s = log.display().to_string();
    let (tools, e) = crawl(&hier(&[("HIER_LOG", &log_s)]), &spec("hier", None)).await;
    let e = e.unwrap();
    assert_eq!(tools.len(), 1);
    assert_eq!(e.calls, 4);
    assert_eq!(e.actions.len(), 9);
    assert_eq!(e.warnings.len(), 1, "{:#?}", e.warnings);
    assert!(
        e.warnings[0].starts_with(r#"server "hier": recipe "markdown-catalog": action "list""#),
        "{}",
        e.warnings[0]
    );
    let names: BTreeSet<&str> = e.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names.len(), 9);
    assert!(
        names.contains("files.list") && names.contains("users.list") && !names.contains("list")
    );
    let cats: BTreeSet<&str> = e
        .actions
        .iter()
        .filter_map(|a| a.category.as_deref())
        .collect();
    assert_eq!(cats, BTreeSet::from(["files", "users", "system"]));

    let c = find(&e, "create_user");
    assert_eq!(c.parent.as_deref(), Some("ops"));
    assert_eq!(
        c.selector,
        Some(json!({"op": "run", "group": "users", "action": "create_user"}))
    );
    assert_eq!(required(c), ["username", "password"]);
    assert_eq!(
        c.input_schema["properties"]["admin"],
        json!({"type": "boolean", "description": "grant administrator rights"})
    );
    assert_eq!(c.raw["params_argument"], "args");

    let calls = logged_calls(&log);
    assert_eq!(calls.len(), 4);
    assert_eq!(calls[0]["arguments"], json!({"op": "groups"}));
    assert!(calls[1..]
        .iter()
        .all(|c| c["name"] == "ops" && c["arguments"]["op"] == "group"));
}

#[tokio::test]
async fn a_failing_listing_warns_and_the_rest_is_kept() {
    let (_, e) = crawl(&hier(&[("HIER_FAIL_GROUP", "users")]), &spec("hier", None)).await;
    let e = e.unwrap();
    assert_eq!(e.calls, 4);
    assert_eq!(e.actions.len(), 6);
    // `list` is now unique, so it keeps its name.
    assert!(e.actions.iter().any(|a| a.name == "list"));
    assert_eq!(
        e.warnings,
        [
            r#"server "hier": recipe "markdown-catalog": call ops({"op":"group","group":"users"}) failed: the server answered an error: Error: group users is unavailable"#
        ]
    );
}
