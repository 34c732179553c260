//! The `s3_account_public_access` alert as a Lambda: runs on its EventBridge schedule (see the registry).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tripline_runtime::lambda::run_alert("s3_account_public_access").await
}
