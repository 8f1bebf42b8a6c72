//! Unit tests for the classifier: one group per rule family, plus tools
//! shaped like other vendors' (filesystem, GitHub, Slack, Stripe,
//! Kubernetes, databases, browsers) to keep the rules general.

use super::*;
use crate::model::{Category as C, Kind as K, Risk as R, ToolRecord, Verdict};
use serde_json::{json, Value};

fn rules() -> Rules {
    Rules::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("rules")).expect("rules load")
}

fn tool(name: &str, description: &str, props: Value) -> ToolRecord {
    ToolRecord::from_raw(
        "test",
        json!({"name": name, "description": description, "inputSchema": {"type": "object", "properties": props}}),
    )
}

fn annotated(name: &str, description: &str, props: Value, annotations: Value) -> ToolRecord {
    ToolRecord::from_raw(
        "test",
        json!({"name": name, "description": description, "inputSchema": {"type": "object", "properties": props}, "annotations": annotations}),
    )
}

fn show(v: &Verdict) -> String {
    let sig: Vec<String> = v.signals.iter().map(|s| s.name.clone()).collect();
    let rs: Vec<String> = v.reasons.iter().map(|r| format!("{}={}", r.rule, r.matched)).collect();
    format!("{}/{}/{} signals {:?} reasons {:?}", v.kind.as_str(), v.category.as_str(), v.risk.as_str(), sig, rs)
}

#[test]
fn probe_other_vendors() {
    let r = rules();
    let cases: &[(&str, &str, Value)] = &[
        ("read_file", "Read the complete contents of a file from the file system.", json!({"path": {"type": "string"}})),
        ("read_multiple_files", "Read the contents of multiple files simultaneously.", json!({"paths": {"type": "array"}})),
        ("write_file", "Create a new file or completely overwrite an existing file with new content.", json!({"path": {}, "content": {}})),
        ("edit_file", "Make line-based edits to a text file.", json!({"path": {}, "edits": {}, "dryRun": {}})),
        ("create_directory", "Create a new directory or ensure a directory exists.", json!({"path": {}})),
        ("list_directory", "Get a detailed listing of all files and directories in a specified path.", json!({"path": {}})),
        ("directory_tree", "Get a recursive tree view of files and directories as a JSON structure.", json!({"path": {}})),
        ("move_file", "Move or rename files and directories.", json!({"source": {}, "destination": {}})),
        ("search_files", "Recursively search for files and directories matching a pattern.", json!({"path": {}, "pattern": {}})),
        ("get_file_info", "Retrieve detailed metadata about a file or directory.", json!({"path": {}})),
        ("list_allowed_directories", "Returns the list of directories that this server is allowed to access.", json!({})),
        ("get_file_contents", "Get the contents of a file or directory from a GitHub repository", json!({"owner": {}, "repo": {}, "path": {}})),
        ("create_or_update_file", "Create or update a single file in a GitHub repository", json!({"owner": {}, "repo": {}, "path": {}, "content": {}, "message": {}})),
        ("push_files", "Push multiple files to a GitHub repository in a single commit", json!({})),
        ("create_issue", "Create a new issue in a GitHub repository", json!({"owner": {}, "repo": {}, "title": {}, "body": {}})),
        ("list_issues", "List issues in a GitHub repository with filtering options", json!({})),
        ("add_issue_comment", "Add a comment to an existing issue", json!({"body": {}})),
        ("search_repositories", "Search for GitHub repositories", json!({"query": {}})),
        ("fork_repository", "Fork a GitHub repository to your account or specified organization", json!({})),
        ("get_commit", "Get details for a commit from a GitHub repository", json!({})),
        ("merge_pull_request", "Merge a pull request", json!({})),
        ("get_pull_request_status", "Get the combined status of all status checks for a pull request", json!({})),
        ("delete_file", "Delete a file from a GitHub repository", json!({})),
        ("run_workflow", "Run an Actions workflow by workflow ID or filename", json!({})),
        ("get_job_logs", "Download logs for a specific workflow job", json!({})),
        ("download_workflow_run_artifact", "Get download URL for a workflow run artifact", json!({})),
        ("get_me", "Get details of the authenticated GitHub user.", json!({})),
        ("mark_all_notifications_read", "Mark all notifications as read", json!({})),
        ("slack_list_channels", "List public or pre-defined channels in the workspace with pagination", json!({})),
        ("slack_post_message", "Post a new message to a Slack channel", json!({"channel_id": {}, "text": {}})),
        ("slack_reply_to_thread", "Reply to a specific message thread in Slack", json!({})),
        ("slack_add_reaction", "Add a reaction emoji to a message", json!({})),
        ("slack_get_channel_history", "Get recent messages from a channel", json!({})),
        ("slack_get_users", "Get a list of all users in the workspace with their basic profile information", json!({})),
        ("create_customer", "This tool will create a customer in Stripe.", json!({"name": {}, "email": {}})),
        ("list_customers", "This tool will fetch a list of Customers from Stripe.", json!({})),
        ("create_payment_link", "This tool will create a payment link in Stripe.", json!({})),
        ("finalize_invoice", "This tool will finalize an invoice in Stripe.", json!({})),
        ("retrieve_balance", "This tool will retrieve the balance from Stripe.", json!({})),
        ("create_refund", "This tool will refund a payment intent in Stripe.", json!({})),
        ("cancel_subscription", "This tool will cancel a subscription in Stripe.", json!({})),
        ("search_documentation", "This tool will search the Stripe documentation.", json!({})),
        ("kubectl_get", "Get or list Kubernetes resources by resource type, name, and optionally namespace", json!({})),
        ("kubectl_apply", "Apply a Kubernetes YAML manifest from a string or file", json!({})),
        ("kubectl_delete", "Delete Kubernetes resources by resource type, name, labels, or from a manifest file", json!({})),
        ("kubectl_logs", "Get logs from Kubernetes resources like pods, deployments, or jobs", json!({})),
        ("kubectl_scale", "Scale a Kubernetes deployment", json!({})),
        ("exec_in_pod", "Execute a command in a Kubernetes pod or container and return the output", json!({"command": {"description": "Command to execute"}})),
        ("port_forward", "Forward a local port to a port on a Kubernetes resource", json!({})),
        ("uninstall_helm_chart", "Uninstall a Helm release", json!({})),
        ("explain_resource", "Get documentation for a Kubernetes resource or field", json!({})),
        ("kubectl_generic", "Execute any kubectl command with the provided arguments and flags", json!({"command": {}, "args": {}})),
        ("query", "Run a read-only SQL query", json!({"sql": {"type": "string"}})),
        ("read_query", "Execute a SELECT query on the SQLite database", json!({"query": {"description": "SELECT SQL query to execute"}})),
        ("write_query", "Execute an INSERT, UPDATE, or DELETE query on the SQLite database", json!({"query": {"description": "SQL query to execute"}})),
        ("execute_sql", "Executes raw SQL in the Postgres database.", json!({"query": {}})),
        ("list_tables", "List all tables in the SQLite database", json!({})),
        ("describe_table", "Get the schema information for a specific table", json!({})),
        ("git_status", "Shows the working tree status", json!({})),
        ("git_log", "Shows the commit logs", json!({})),
        ("git_reset", "Unstages all staged changes", json!({})),
        ("git_checkout", "Switches branches", json!({})),
        ("git_init", "Initialize a new Git repository", json!({})),
        ("browser_navigate", "Navigate to a URL", json!({"url": {}})),
        ("browser_click", "Perform click on a web page", json!({})),
        ("browser_snapshot", "Capture accessibility snapshot of the current page, this is better than screenshot", json!({})),
        ("browser_take_screenshot", "Take a screenshot of the current page.", json!({})),
        ("browser_evaluate", "Evaluate JavaScript expression on page or element", json!({"function": {}})),
        ("browser_wait_for", "Wait for text to appear or disappear or a specified time to pass", json!({})),
        ("browser_console_messages", "Returns all console messages", json!({})),
        ("fetch", "Fetches a URL from the internet and optionally extracts its contents as markdown.", json!({"url": {}})),
        ("get_current_time", "Get current time in a specific timezones", json!({})),
        ("convert_time", "Convert time between timezones", json!({})),
        ("create_entities", "Create multiple new entities in the knowledge graph", json!({})),
        ("delete_entities", "Delete multiple entities and their associated relations from the knowledge graph", json!({})),
        ("read_graph", "Read the entire knowledge graph", json!({})),
        ("open_nodes", "Open specific nodes in the knowledge graph by their names", json!({})),
        ("brave_web_search", "Performs a web search using the Brave Search API", json!({})),
        ("maps_geocode", "Convert an address into geographic coordinates", json!({})),
        ("maps_directions", "Get directions between two points", json!({})),
        ("run_container", "Run an image in a new Docker container", json!({})),
        ("remove_container", "Remove a Docker container", json!({})),
        ("fetch_container_logs", "Fetch the logs of a Docker container", json!({})),
        ("list_containers", "List all Docker containers", json!({})),
        ("API-post-search", "Search by title", json!({})),
        ("API-patch-page", "Update page properties", json!({})),
        ("API-retrieve-a-page", "Retrieve a page", json!({})),
        ("drop_database", "Drop a MongoDB database", json!({})),
        ("aggregate", "Run an aggregation against a MongoDB collection", json!({})),
        ("send_email", "Send an email to the given recipients", json!({"to": {}, "body": {}})),
        ("printEnv", "Prints all environment variables, helpful for debugging MCP server configuration", json!({})),
    ];
    let mut out = String::new();
    for (n, d, p) in cases {
        let v = r.classify(&tool(n, d, p.clone()));
        out += &format!("{n:32} {}\n", show(&v));
    }
    println!("{out}");
}
