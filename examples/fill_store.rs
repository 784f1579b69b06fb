//! Fills a store with N Trusted Cert entries, for benchmarks:
//! `fill_store DB STORE COUNT CERT.pem` (aliases `bench-0` … `bench-N-1`, one transaction each).

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [db, store, count, cert] = args.as_slice() else {
        return Err("usage: fill_store DB STORE COUNT CERT.pem".into());
    };
    let count: usize = count.parse()?;
    let chain = vecsfs::pki::parse_cert_chain(&std::fs::read(cert)?)?;
    let content = vecsfs::store::EntryContent::trusted_cert(&chain);
    let mut db = vecsfs::store::Database::open(Path::new(db))?;
    if db.store(store).is_err() {
        db.create_store(0, store)?;
    }
    for n in 0..count {
        db.add_entry(0, store, Some(&format!("bench-{n}")), &content)?;
    }
    Ok(())
}
