//! Normalize a ~100 MB CloudTrail delivery file on one core: records/s and MB/s.
//!
//! The file is generated into a temporary directory from realistic records (IAM, EC2, S3, STS,
//! console sign-ins; ~1.3 KB each), then read with `read_path` exactly as `tripline ingest` does,
//! events counted and dropped. `TRIPLINE_BENCH_MB` changes the size. It uses mimalloc, the
//! allocator of the `tripline` binary (about a third faster here than glibc's malloc: every record
//! becomes a map of owned strings).
//!
//! ```sh
//! cargo bench -p tripline-normalize --bench cloudtrail
//! ```

use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use serde_json::{json, Value};
use tripline_normalize::{read_path, Options};

/// The allocator of the `tripline` binary, which is what normalizes in practice.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn record(i: u64) -> Value {
    let names = [
        (
            "ec2.amazonaws.com",
            "DescribeInstances",
            json!({"instancesSet": {}, "filterSet": {}, "maxResults": 1000}),
        ),
        ("iam.amazonaws.com", "CreateUser", json!({"userName": format!("user-{i}")})),
        (
            "s3.amazonaws.com",
            "PutBucketAcl",
            json!({"bucketName": format!("bucket-{}", i % 97), "Host": "s3.amazonaws.com",
            "AccessControlPolicy": {"AccessControlList": {"Grant": [{"Grantee": {"xsi:type": "Group",
            "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}]}}}),
        ),
        (
            "sts.amazonaws.com",
            "AssumeRole",
            json!({"roleArn": "arn:aws:iam::123456789012:role/web", "roleSessionName": format!("s{i}")}),
        ),
        ("signin.amazonaws.com", "ConsoleLogin", Value::Null),
    ];
    let (src, name, req) = &names[(i % names.len() as u64) as usize];
    let ip = if i % 7 == 0 {
        "ec2.amazonaws.com".to_owned()
    } else {
        format!("203.0.{}.{}", (i / 256) % 256, i % 256)
    };
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAJ45Q7YFFAREXAMPLE",
            "arn": format!("arn:aws:iam::123456789012:user/user{}", i % 50), "accountId": "123456789012",
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": format!("user{}", i % 50),
            "sessionContext": {"sessionIssuer": {}, "webIdFederationData": {},
                "attributes": {"creationDate": "2026-11-23T09:58:00Z", "mfaAuthenticated": "false"}}},
        "eventTime": format!("2026-11-23T{:02}:{:02}:{:02}Z", (i / 3600) % 24, (i / 60) % 60, i % 60),
        "eventSource": src, "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": ip,
        "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1.0 exe/x86_64.amzn.2023 prompt/off command/ec2.describe-instances",
        "requestParameters": req,
        "responseElements": if *name == "ConsoleLogin" { json!({"ConsoleLogin": "Success"}) } else { Value::Null },
        "additionalEventData": if *name == "ConsoleLogin" { json!({"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/"}) } else { Value::Null },
        "requestID": format!("{i:08x}-1111-2222-3333-444455556666"),
        "eventID": format!("{i:08x}-aaaa-bbbb-cccc-ddddeeeeffff"),
        "readOnly": name.starts_with("Describe"), "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": "123456789012", "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": src}
    })
}

fn bench(c: &mut Criterion) {
    let mb: u64 = std::env::var("TRIPLINE_BENCH_MB").ok().and_then(|s| s.parse().ok()).unwrap_or(100);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cloudtrail.json");
    let mut w = BufWriter::new(std::fs::File::create(&path).expect("create"));
    w.write_all(b"{\"Records\":[").expect("write");
    let (mut i, mut bytes) = (0u64, 0u64);
    // One reused buffer: a string per record here would leave the allocator's free lists
    // fragmented before the measurement starts (that alone cost ~20% of the measured rate).
    let mut s = Vec::with_capacity(4096);
    while bytes < mb * 1_000_000 {
        s.clear();
        serde_json::to_writer(&mut s, &record(i)).expect("serialize");
        if i > 0 {
            w.write_all(b",").expect("write");
        }
        w.write_all(&s).expect("write");
        bytes += s.len() as u64 + 1;
        i += 1;
    }
    w.write_all(b"]}").expect("write");
    w.flush().expect("flush");
    drop(w);
    let size = std::fs::metadata(&path).expect("metadata").len();
    let records = i;

    let opts = Options::default();
    let run = || {
        let mut n = 0u64;
        let stats = read_path(&path, &opts, |r| {
            if r.is_ok() {
                n += 1
            }
        });
        assert_eq!(stats.total_errors(), 0);
        n
    };
    // One timed pass, printed as the README reports it: wall clock, and the time this thread
    // actually spent on a CPU (the honest one-core figure on a busy machine).
    let t = Instant::now();
    let cpu = thread_cpu_secs();
    let n = run();
    let secs = t.elapsed().as_secs_f64();
    let cpu = thread_cpu_secs().zip(cpu).map(|(b, a)| b - a);
    assert_eq!(n, records);
    println!(
        "cloudtrail: {records} records, {:.1} MB in {secs:.2} s wall: {:.0} records/s, {:.1} MB/s",
        size as f64 / 1e6,
        records as f64 / secs,
        size as f64 / 1e6 / secs
    );
    if let Some(cpu) = cpu {
        println!(
            "cloudtrail: {cpu:.2} s on CPU: {:.0} records/s, {:.1} MB/s per core",
            records as f64 / cpu,
            size as f64 / 1e6 / cpu
        );
    }

    let mut g = c.benchmark_group("normalize");
    g.sample_size(10).measurement_time(Duration::from_secs(20)).warm_up_time(Duration::from_secs(1));
    g.throughput(Throughput::Elements(records));
    g.bench_function(format!("cloudtrail_{mb}MB_records"), |b| b.iter(run));
    g.throughput(Throughput::Bytes(size));
    g.bench_function(format!("cloudtrail_{mb}MB_bytes"), |b| b.iter(run));
    g.finish();
}

/// This thread's time on a CPU (Linux `/proc/thread-self/schedstat`, nanoseconds).
fn thread_cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse::<f64>().ok().map(|ns| ns / 1e9)
}

criterion_group!(benches, bench);
criterion_main!(benches);
