//! The ingest Lambda: S3 ObjectCreated notifications, CloudWatch Logs subscriptions and
//! EventBridge events → normalized events → OpenSearch. See `tripline_functions::ingest`.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use tripline_functions::ingest::Ingest;

/// Normalizing allocates many small strings per record: mimalloc makes it ≈ 30 % faster than the
/// system allocator (docs/performance.md, Normalization), and a Lambda is billed by the millisecond.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tripline_functions::alert::init_tracing();
    let ingest = Ingest::from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| ingest.invoke(event))).await
}
