//! Every alert's Lambda: `TRIPLINE_ALERT` names the catalog alert it runs on its EventBridge
//! schedule. See `tripline_functions::alert`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tripline_functions::alert::run().await
}
