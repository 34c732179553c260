//! The `root_account_usage` alert as a Lambda: runs on its EventBridge schedule (see the registry).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tripline_runtime::lambda::run_alert("root_account_usage").await
}
