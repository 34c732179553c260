//! The `s3_bucket_public` alert as a Lambda: runs on its EventBridge schedule (see the registry).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tripline_runtime::lambda::run_alert("s3_bucket_public").await
}
