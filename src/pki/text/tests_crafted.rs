//! Certificates built by hand in DER for the corners `openssl req` does not produce
//! (odd string types, serials, times, extension encodings, SCT lists, signature
//! parameters), each compared byte for byte with `openssl x509 -text -noout`.

use super::tests::{compare_certificate, compare_key, openssl, Workshop};

// ---------------------------------------------------------------------------------------
// Hand-built DER for the corners openssl's tools do not produce

/// A minimal DER writer for test certificates (signatures need not verify: OpenSSL
/// prints without checking them).
mod build {
    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let n = content.len();
        if n < 0x80 {
            out.push(n as u8);
        } else {
            let bytes: Vec<u8> = n
                .to_be_bytes()
                .iter()
                .copied()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend_from_slice(&bytes);
        }
        out.extend_from_slice(content);
        out
    }

    pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x30, &parts.concat())
    }

    pub fn set(parts: &[Vec<u8>]) -> Vec<u8> {
        tlv(0x31, &parts.concat())
    }

    /// `[n]`, constructed or primitive.
    pub fn ctx(n: u8, constructed: bool, content: &[u8]) -> Vec<u8> {
        tlv(if constructed { 0xa0 | n } else { 0x80 | n }, content)
    }

    pub fn oid_content(dotted: &str) -> Vec<u8> {
        let arcs: Vec<u128> = dotted.split('.').map(|a| a.parse().expect("arc")).collect();
        let mut out = Vec::new();
        let mut values = vec![arcs[0] * 40 + arcs[1]];
        values.extend_from_slice(&arcs[2..]);
        for mut v in values {
            let mut chunk = vec![(v & 0x7f) as u8];
            v >>= 7;
            while v > 0 {
                chunk.push(0x80 | (v & 0x7f) as u8);
                v >>= 7;
            }
            chunk.reverse();
            out.extend_from_slice(&chunk);
        }
        out
    }

    pub fn oid(dotted: &str) -> Vec<u8> {
        tlv(6, &oid_content(dotted))
    }

    /// Minimal two's-complement INTEGER.
    pub fn int(v: i128) -> Vec<u8> {
        let bytes = v.to_be_bytes();
        let mut start = 0;
        while start < 15 {
            let (b, next) = (bytes[start], bytes[start + 1]);
            if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
                start += 1;
            } else {
                break;
            }
        }
        tlv(2, &bytes[start..])
    }

    /// A non-negative INTEGER from big-endian magnitude bytes.
    pub fn uint(magnitude: &[u8]) -> Vec<u8> {
        let mut content = vec![0];
        content.extend_from_slice(magnitude);
        tlv(2, &content)
    }

    pub fn utf8(s: &str) -> Vec<u8> {
        tlv(12, s.as_bytes())
    }

    pub fn printable(s: &str) -> Vec<u8> {
        tlv(19, s.as_bytes())
    }

    pub fn ia5(s: &[u8]) -> Vec<u8> {
        tlv(22, s)
    }

    pub fn bmp(s: &str) -> Vec<u8> {
        tlv(
            30,
            &s.encode_utf16()
                .flat_map(u16::to_be_bytes)
                .collect::<Vec<_>>(),
        )
    }

    pub fn bits(unused: u8, data: &[u8]) -> Vec<u8> {
        let mut content = vec![unused];
        content.extend_from_slice(data);
        tlv(3, &content)
    }

    pub fn octets(data: &[u8]) -> Vec<u8> {
        tlv(4, data)
    }

    pub fn null() -> Vec<u8> {
        tlv(5, &[])
    }

    pub fn boolean(v: bool) -> Vec<u8> {
        tlv(1, &[if v { 0xff } else { 0 }])
    }

    pub fn atv(oid_text: &str, value: Vec<u8>) -> Vec<u8> {
        seq(&[oid(oid_text), value])
    }

    /// A Name with one attribute per RDN.
    pub fn name(atvs: &[Vec<u8>]) -> Vec<u8> {
        seq(&atvs
            .iter()
            .map(|a| set(std::slice::from_ref(a)))
            .collect::<Vec<_>>())
    }

    pub fn cn(value: &str) -> Vec<u8> {
        name(&[atv("2.5.4.3", utf8(value))])
    }

    pub fn alg(oid_text: &str, params: Option<Vec<u8>>) -> Vec<u8> {
        match params {
            Some(p) => seq(&[oid(oid_text), p]),
            None => seq(&[oid(oid_text)]),
        }
    }

    pub fn ext(oid_text: &str, critical: bool, value: Vec<u8>) -> Vec<u8> {
        let mut parts = vec![oid(oid_text)];
        if critical {
            parts.push(boolean(true));
        }
        parts.push(octets(&value));
        seq(&parts)
    }

    /// A synthetic RSA public key (the modulus need not be a product of primes).
    pub fn rsa_spki() -> Vec<u8> {
        let mut modulus = vec![0xc5u8; 256];
        modulus[255] = 0x01;
        let key = seq(&[uint(&modulus), int(65537)]);
        seq(&[alg("1.2.840.113549.1.1.1", Some(null())), bits(0, &key)])
    }

    pub struct CertSpec {
        pub version: Option<i128>,
        pub serial: Vec<u8>,
        pub issuer: Vec<u8>,
        pub subject: Vec<u8>,
        pub not_before: Vec<u8>,
        pub not_after: Vec<u8>,
        pub spki: Vec<u8>,
        pub unique_ids: Vec<u8>,
        pub extensions: Option<Vec<Vec<u8>>>,
        pub tbs_sig_alg: Option<Vec<u8>>,
        pub sig_alg: Vec<u8>,
        pub signature: Vec<u8>,
    }

    impl Default for CertSpec {
        fn default() -> Self {
            CertSpec {
                version: Some(2),
                serial: int(0x1234),
                issuer: cn("Test Issuer"),
                subject: cn("Test Subject"),
                not_before: tlv(23, b"200301120000Z"),
                not_after: tlv(23, b"300301120000Z"),
                spki: rsa_spki(),
                unique_ids: Vec::new(),
                extensions: None,
                tbs_sig_alg: None,
                sig_alg: alg("1.2.840.113549.1.1.11", Some(null())),
                signature: bits(0, &[0x5a; 40]),
            }
        }
    }

    pub fn certificate(spec: &CertSpec) -> Vec<u8> {
        let mut tbs = Vec::new();
        if let Some(v) = spec.version {
            tbs.push(ctx(0, true, &int(v)));
        }
        tbs.push(spec.serial.clone());
        tbs.push(
            spec.tbs_sig_alg
                .clone()
                .unwrap_or_else(|| spec.sig_alg.clone()),
        );
        tbs.push(spec.issuer.clone());
        tbs.push(seq(&[spec.not_before.clone(), spec.not_after.clone()]));
        tbs.push(spec.subject.clone());
        tbs.push(spec.spki.clone());
        tbs.push(spec.unique_ids.clone());
        if let Some(exts) = &spec.extensions {
            tbs.push(ctx(3, true, &seq(exts)));
        }
        seq(&[seq(&tbs), spec.sig_alg.clone(), spec.signature.clone()])
    }

    /// A certificate that differs from the default only in its extensions.
    pub fn with_extensions(exts: Vec<Vec<u8>>) -> Vec<u8> {
        certificate(&CertSpec {
            extensions: Some(exts),
            ..CertSpec::default()
        })
    }

    /// GeneralName helpers.
    pub fn gn_dns(s: &[u8]) -> Vec<u8> {
        ctx(2, false, s)
    }

    pub fn gn_uri(s: &[u8]) -> Vec<u8> {
        ctx(6, false, s)
    }

    pub fn gn_email(s: &[u8]) -> Vec<u8> {
        ctx(1, false, s)
    }

    pub fn gn_ip(bytes: &[u8]) -> Vec<u8> {
        ctx(7, false, bytes)
    }

    pub fn gn_dir(name: Vec<u8>) -> Vec<u8> {
        ctx(4, true, &name)
    }

    pub fn gn_rid(oid_text: &str) -> Vec<u8> {
        ctx(8, false, &oid_content(oid_text))
    }

    pub fn gn_other(oid_text: &str, value: Vec<u8>) -> Vec<u8> {
        ctx(0, true, &[oid(oid_text), ctx(0, true, &value)].concat())
    }
}

/// Compares every case and reports all mismatches at once.
fn assert_all_match(cases: &[(&str, Vec<u8>)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, der)| {
            compare_certificate(der)
                .err()
                .map(|r| format!("{name}: {r}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn name_forms_match_openssl() {
    use build::*;
    let subject = |atvs: &[Vec<u8>]| {
        certificate(&CertSpec {
            subject: name(atvs),
            ..CertSpec::default()
        })
    };
    let cases = vec![
        (
            "RFC 2253 specials",
            subject(&[
                atv("2.5.4.3", utf8(" leading")),
                atv("2.5.4.3", utf8("trailing ")),
                atv("2.5.4.3", utf8("#hash")),
                atv("2.5.4.3", utf8("a;b<c>d+e,f\"g\\h")),
                atv("2.5.4.3", utf8("ctl\u{1}\u{7f}")),
                atv("2.5.4.3", utf8("#")),
                atv("2.5.4.3", utf8(" ")),
                atv("2.5.4.3", utf8("")),
            ]),
        ),
        (
            "BMPString",
            subject(&[atv("2.5.4.3", bmp("Tëst ünïcode 日本"))]),
        ),
        ("T61String", subject(&[atv("2.5.4.3", tlv(20, b"caf\xe9"))])),
        (
            "UniversalString",
            subject(&[atv(
                "2.5.4.3",
                tlv(
                    28,
                    &"héllo😀"
                        .chars()
                        .flat_map(|c| (c as u32).to_be_bytes())
                        .collect::<Vec<_>>(),
                ),
            )]),
        ),
        (
            "IA5String with high bytes",
            subject(&[atv("1.2.840.113549.1.9.1", ia5(b"a\xe9@b"))]),
        ),
        (
            "unknown types and values",
            subject(&[
                atv("1.2.3.4.5", utf8("x")),
                atv("2.5.4.45", bits(0, &[1])),
                atv("1.2.3", tlv(7, b"x")),
                atv("1.2.3.4", seq(&[int(5)])),
                atv("0.9.2342.19200300.100.1.25", ia5(b"com")),
                atv("2.5.4.97", utf8("VATDE-123")),
            ]),
        ),
        (
            "multi-valued RDN",
            certificate(&CertSpec {
                subject: seq(&[
                    set(&[
                        atv("2.5.4.3", utf8("a")),
                        atv("2.5.4.11", utf8("b")),
                        atv("2.5.4.10", utf8("c")),
                    ]),
                    set(&[atv("2.5.4.6", printable("US"))]),
                ]),
                ..CertSpec::default()
            }),
        ),
        ("empty name", subject(&[])),
        (
            "empty RDN",
            certificate(&CertSpec {
                subject: seq(&[
                    set(&[atv("2.5.4.3", utf8("a"))]),
                    set(&[]),
                    set(&[atv("2.5.4.3", utf8("b"))]),
                ]),
                ..CertSpec::default()
            }),
        ),
    ];
    assert_all_match(&cases);
}

#[test]
fn header_fields_match_openssl() {
    use build::*;
    let with = |f: &dyn Fn(&mut CertSpec)| {
        let mut spec = CertSpec::default();
        f(&mut spec);
        certificate(&spec)
    };
    let cases = vec![
        ("serial -1", with(&|s| s.serial = int(-1))),
        ("serial 0", with(&|s| s.serial = int(0))),
        (
            "serial i64::MAX",
            with(&|s| s.serial = int(i128::from(i64::MAX))),
        ),
        ("serial 2^63", with(&|s| s.serial = int(1 << 63))),
        ("serial -2^63", with(&|s| s.serial = int(-(1 << 63)))),
        ("serial 2^64-1", with(&|s| s.serial = int((1 << 64) - 1))),
        ("serial -2^100", with(&|s| s.serial = int(-(1 << 100)))),
        ("serial 0xff7f", with(&|s| s.serial = tlv(2, &[0xff, 0x7f]))),
        ("version 1", with(&|s| s.version = None)),
        ("version 5", with(&|s| s.version = Some(5))),
        (
            "UTCTime without seconds",
            with(&|s| s.not_before = tlv(23, b"2003011200Z")),
        ),
        (
            "UTCTime with offsets",
            with(&|s| {
                s.not_before = tlv(23, b"200301120000+0130");
                s.not_after = tlv(23, b"200301120000-1100");
            }),
        ),
        (
            "GeneralizedTime with fractions",
            with(&|s| {
                s.not_before = tlv(24, b"20200301120000.5Z");
                s.not_after = tlv(24, b"20500301120000.123456Z");
            }),
        ),
        (
            "bad time",
            with(&|s| s.not_before = tlv(23, b"20030112000Z")),
        ),
        (
            "unique identifiers",
            with(&|s| {
                s.unique_ids = [ctx(1, false, &[0, 0xab, 0xcd]), ctx(2, false, &[4; 41])].concat();
            }),
        ),
    ];
    assert_all_match(&cases);
}

#[test]
fn signature_forms_match_openssl() {
    use build::*;
    let sig = |alg: Vec<u8>, signature: Vec<u8>| {
        certificate(&CertSpec {
            sig_alg: alg,
            signature,
            ..CertSpec::default()
        })
    };
    let pss = "1.2.840.113549.1.1.10";
    let sha384 = || alg("2.16.840.1.101.3.4.2.2", None);
    let plain = bits(0, &[0x11; 64]);
    let cases = vec![
        (
            "PSS, NULL parameters",
            sig(alg(pss, Some(null())), plain.clone()),
        ),
        ("PSS, no parameters", sig(alg(pss, None), plain.clone())),
        (
            "PSS, defaults",
            sig(alg(pss, Some(seq(&[]))), plain.clone()),
        ),
        (
            "PSS, all fields",
            sig(
                alg(
                    pss,
                    Some(seq(&[
                        ctx(0, true, &sha384()),
                        ctx(1, true, &seq(&[oid("1.2.840.113549.1.1.8"), sha384()])),
                        ctx(2, true, &int(48)),
                        ctx(3, true, &int(1)),
                    ])),
                ),
                plain.clone(),
            ),
        ),
        (
            "PSS, bad MGF",
            sig(
                alg(
                    pss,
                    Some(seq(&[ctx(1, true, &seq(&[oid("1.2.3"), sha384()]))])),
                ),
                plain.clone(),
            ),
        ),
        (
            "DSA r and s",
            sig(
                alg("2.16.840.1.101.3.4.3.2", None),
                bits(0, &seq(&[int(5), uint(&[0x99; 30])])),
            ),
        ),
        (
            "DSA, undecodable",
            sig(alg("1.2.840.10040.4.3", None), bits(0, &[1, 2])),
        ),
        (
            "unused bits",
            sig(
                alg("1.2.840.113549.1.1.11", Some(null())),
                bits(3, &[0xff, 0xff]),
            ),
        ),
        (
            "empty signature",
            sig(alg("1.2.840.113549.1.1.11", Some(null())), bits(0, &[])),
        ),
        (
            "unknown algorithm",
            sig(alg("1.2.3.4.5", Some(int(1))), plain.clone()),
        ),
        ("Ed25519", sig(alg("1.3.101.112", None), bits(0, &[7; 64]))),
        (
            "md2WithRSAEncryption",
            sig(alg("1.2.840.113549.1.1.2", Some(null())), plain),
        ),
    ];
    assert_all_match(&cases);
}

#[test]
fn general_names_match_openssl() {
    use build::*;
    let san = |names: Vec<Vec<u8>>| with_extensions(vec![ext("2.5.29.17", false, seq(&names))]);
    let cases = vec![
        (
            "other names",
            san(vec![
                gn_other("1.3.6.1.4.1.311.20.2.3", utf8("upn@example")),
                gn_other("1.2.3.4", utf8("utf")),
                gn_other("1.2.3.4", ia5(b"ia5")),
                gn_other("1.2.3.4", int(5)),
                gn_other("1.3.6.1.5.5.7.8.7", ia5(b"_srv.example")),
                gn_other("1.3.6.1.5.5.7.8.5", utf8("xmpp@example")),
                gn_other("1.3.6.1.5.5.7.8.9", utf8("smtp@example")),
                gn_other("1.3.6.1.5.5.7.8.8", utf8("realm")),
                gn_other("1.2.3", bmp("x")),
            ]),
        ),
        (
            "directory names and others",
            san(vec![
                gn_dir(seq(&[
                    set(&[atv("2.5.4.6", printable("US"))]),
                    set(&[atv("2.5.4.3", utf8("a/b+c")), atv("2.5.4.11", bmp("é"))]),
                ])),
                gn_rid("1.2.3.4.5"),
                gn_rid("2.5.29.17"),
                ctx(3, true, &[]),
                ctx(5, true, &ctx(1, true, &utf8("party"))),
            ]),
        ),
        (
            "IP addresses",
            san(vec![
                gn_ip(&[1, 2, 3]),
                gn_ip(&[0; 16]),
                gn_ip(&(0..16).collect::<Vec<u8>>()),
                gn_ip(&[127, 0, 0, 1]),
            ]),
        ),
        ("NUL in a DNS name", san(vec![gn_dns(b"a\x00b")])),
        (
            "non-ASCII bytes",
            san(vec![gn_dns("café.example".as_bytes()), gn_email(b"\x7f@x")]),
        ),
        ("empty", san(vec![])),
        (
            "UPN of the wrong type",
            san(vec![gn_other("1.3.6.1.4.1.311.20.2.3", ia5(b"upn"))]),
        ),
        (
            "long directory name",
            san(vec![gn_dir(name(&vec![
                atv(
                    "2.5.4.3",
                    utf8(&"x".repeat(60))
                );
                6
            ]))]),
        ),
        (
            "issuer alternative name",
            with_extensions(vec![ext(
                "2.5.29.18",
                false,
                seq(&[gn_uri(b"http://issuer"), gn_email(b"i@x")]),
            )]),
        ),
    ];
    assert_all_match(&cases);
}

#[test]
fn extensions_match_openssl() {
    use build::*;
    let one = |oid_text: &str, critical: bool, value: Vec<u8>| {
        with_extensions(vec![ext(oid_text, critical, value)])
    };
    let notice_ref = seq(&[utf8("Org Name"), seq(&[int(1), int(2), int(1 << 100)])]);
    let cps = "1.3.6.1.5.5.7.2.1";
    let unotice = "1.3.6.1.5.5.7.2.2";
    let cases = vec![
        ("key usage, no bits", one("2.5.29.15", true, bits(0, &[]))),
        (
            "key usage, all bits",
            one("2.5.29.15", true, bits(7, &[0xff, 0x80])),
        ),
        (
            "AKID, key id only",
            one("2.5.29.35", false, seq(&[ctx(0, false, &[1, 2])])),
        ),
        (
            "AKID, all fields",
            one(
                "2.5.29.35",
                false,
                seq(&[
                    ctx(0, false, &[1, 2]),
                    ctx(1, true, &[gn_dns(b"x"), gn_dir(cn("ca"))].concat()),
                    ctx(2, false, &[0, 0x80]),
                ]),
            ),
        ),
        ("AKID, empty", one("2.5.29.35", false, seq(&[]))),
        (
            "policies with notices",
            one(
                "2.5.29.32",
                false,
                seq(&[
                    seq(&[
                        oid("2.5.29.32.0"),
                        seq(&[seq(&[
                            oid(unotice),
                            seq(&[notice_ref, utf8("Explicit here")]),
                        ])]),
                    ]),
                    seq(&[
                        oid("1.2.3"),
                        seq(&[
                            seq(&[oid(unotice), seq(&[seq(&[ia5(b"O"), seq(&[int(7)])])])]),
                            seq(&[oid(cps), ia5(b"http://cps.example")]),
                            seq(&[oid("1.2.3.4"), int(3)]),
                        ]),
                    ]),
                    seq(&[oid("2.23.140.1.2.1")]),
                ]),
            ),
        ),
        (
            "policy with a BMPString notice",
            one(
                "2.5.29.32",
                false,
                seq(&[seq(&[
                    oid("1.2.4"),
                    seq(&[seq(&[oid(unotice), seq(&[bmp("bmp text")])])]),
                ])]),
            ),
        ),
        (
            "CRL distribution points",
            one(
                "2.5.29.31",
                false,
                seq(&[
                    seq(&[ctx(
                        0,
                        true,
                        &ctx(
                            1,
                            true,
                            &[atv("2.5.4.3", utf8("rel")), atv("2.5.4.11", utf8("ou"))].concat(),
                        ),
                    )]),
                    seq(&[
                        ctx(
                            0,
                            true,
                            &ctx(0, true, &[gn_uri(b"http://a"), gn_dns(b"b")].concat()),
                        ),
                        ctx(1, false, &[7, 0x86]),
                        ctx(2, true, &gn_dir(cn("crl issuer"))),
                    ]),
                    seq(&[ctx(1, false, &[0])]),
                    seq(&[ctx(2, true, &gn_email(b"e@x"))]),
                ]),
            ),
        ),
        (
            "private key usage period",
            one(
                "2.5.29.16",
                false,
                seq(&[
                    ctx(0, false, b"20200101000000Z"),
                    ctx(1, false, b"20300101000000Z"),
                ]),
            ),
        ),
        ("basic constraints, empty", one("2.5.29.19", true, seq(&[]))),
        (
            "basic constraints, huge pathlen",
            one("2.5.29.19", true, seq(&[boolean(true), uint(&[0x80; 20])])),
        ),
        (
            "basic constraints, negative pathlen",
            one("2.5.29.19", true, seq(&[boolean(true), int(-5)])),
        ),
        (
            "extended key usage, empty",
            one("2.5.29.37", false, seq(&[])),
        ),
        (
            "extended key usage, mixed",
            one(
                "2.5.29.37",
                false,
                seq(&[
                    oid("1.3.6.1.5.5.7.3.1"),
                    oid("1.3.6.1.4.1.311.10.3.4"),
                    oid("2.5.29.37.0"),
                    oid("1.2.3.4"),
                ]),
            ),
        ),
        (
            "unknown extensions",
            with_extensions(vec![
                ext(
                    "1.2.3.4.5",
                    false,
                    b"\x30\x03\x02\x01\x05hello\n\r\x7f\x80".to_vec(),
                ),
                ext("1.3.6.1.4.1.311.21.7", false, seq(&[oid("1.2.3"), int(1)])),
                ext("1.3.6.1.4.1.311.20.2", false, bmp("SubCA")),
            ]),
        ),
        (
            "undecodable known extensions",
            with_extensions(vec![
                ext("2.5.29.19", false, vec![0x30, 0x05, 0x01]),
                ext("2.5.29.17", false, octets(&[])),
                ext("2.5.29.14", false, seq(&[])),
            ]),
        ),
        (
            "Netscape extensions",
            with_extensions(vec![
                ext("2.16.840.1.113730.1.1", false, bits(0, &[0xff])),
                ext("2.16.840.1.113730.1.13", false, ia5(b"comment with\x00nul")),
                ext("2.16.840.1.113730.1.2", false, ia5(b"http://base/")),
                ext("2.16.840.1.113730.1.4", false, ia5(b"")),
            ]),
        ),
        (
            "sign tools",
            with_extensions(vec![
                ext("1.2.643.100.111", false, utf8("СКЗИ")),
                ext(
                    "1.2.643.100.112",
                    false,
                    seq(&[utf8("a"), utf8("b"), utf8("c"), utf8("d")]),
                ),
            ]),
        ),
        (
            "TLS feature",
            one(
                "1.3.6.1.5.5.7.1.24",
                false,
                seq(&[int(5), int(17), int(99), int(1 << 100)]),
            ),
        ),
        ("CT poison", one("1.3.6.1.4.1.11129.2.4.3", true, null())),
        ("OCSP no check", one("1.3.6.1.5.5.7.48.1.5", false, null())),
        (
            "CRL extensions",
            with_extensions(vec![
                ext("2.5.29.20", false, int(12345)),
                ext("2.5.29.27", false, uint(&[1; 17])),
                ext("2.5.29.21", false, tlv(10, &[1])),
                ext("2.5.29.21", false, tlv(10, &[7])),
                ext("2.5.29.24", false, tlv(24, b"20200101000000Z")),
                ext("2.5.29.23", false, oid("1.2.840.10040.2.1")),
            ]),
        ),
        (
            "subject information access",
            one(
                "1.3.6.1.5.5.7.1.11",
                false,
                seq(&[
                    seq(&[oid("1.3.6.1.5.5.7.48.5"), gn_uri(b"http://repo")]),
                    seq(&[oid("1.2.3.4"), gn_dir(cn("x"))]),
                ]),
            ),
        ),
        ("empty AIA", one("1.3.6.1.5.5.7.1.1", false, seq(&[]))),
        (
            "policy mappings",
            one(
                "2.5.29.33",
                false,
                seq(&[
                    seq(&[oid("1.2.3"), oid("2.5.29.32.0")]),
                    seq(&[oid("1.2.4"), oid("1.2.5")]),
                ]),
            ),
        ),
        (
            "empty policy constraints",
            one("2.5.29.36", false, seq(&[])),
        ),
        (
            "name constraints, excluded only",
            one(
                "2.5.29.30",
                true,
                seq(&[ctx(
                    1,
                    true,
                    &[
                        seq(&[gn_dir(cn("x"))]),
                        seq(&[gn_ip(&[10, 0, 0, 0, 0xff])]),
                        seq(&[gn_uri(b".example.com"), ctx(0, false, &[0])]),
                    ]
                    .concat(),
                )]),
            ),
        ),
        ("no extensions in the list", with_extensions(vec![])),
    ];
    assert_all_match(&cases);
}

/// An RFC 6962 SCT list as carried in the precertificate SCT extension.
fn sct_list(scts: &[Vec<u8>]) -> Vec<u8> {
    let mut inner = Vec::new();
    for sct in scts {
        inner.extend_from_slice(&(sct.len() as u16).to_be_bytes());
        inner.extend_from_slice(sct);
    }
    let mut list = (inner.len() as u16).to_be_bytes().to_vec();
    list.extend_from_slice(&inner);
    build::octets(&list)
}

fn sct_v1(timestamp: u64, extensions: &[u8], algs: [u8; 2], signature: &[u8]) -> Vec<u8> {
    let mut sct = vec![0u8];
    sct.extend((0..32).map(|i| i as u8));
    sct.extend_from_slice(&timestamp.to_be_bytes());
    sct.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
    sct.extend_from_slice(extensions);
    sct.extend_from_slice(&algs);
    sct.extend_from_slice(&(signature.len() as u16).to_be_bytes());
    sct.extend_from_slice(signature);
    sct
}

#[test]
fn certificate_transparency_lists_match_openssl() {
    use build::*;
    let scts = |list: Vec<u8>| with_extensions(vec![ext("1.3.6.1.4.1.11129.2.4.2", false, list)]);
    let ecdsa = [4, 3];
    let cases = vec![
        (
            "two SCTs",
            scts(sct_list(&[
                sct_v1(1_577_836_800_123, &[], ecdsa, &(0..70).collect::<Vec<u8>>()),
                sct_v1(0, &[1, 2, 3], [4, 1], &[0; 17]),
            ])),
        ),
        (
            "unknown version",
            scts(sct_list(&[[vec![1u8], (0..40).collect()].concat()])),
        ),
        (
            "unknown algorithm",
            scts(sct_list(&[sct_v1(5, &[], [5, 3], &[1; 8])])),
        ),
        ("bad list length", scts(octets(&[0, 5, 0, 1, 0]))),
        ("empty list", scts(sct_list(&[]))),
        (
            "signature widths",
            scts(sct_list(&[
                sct_v1(9, &[], ecdsa, &[0; 16]),
                sct_v1(9, &[], ecdsa, &[0; 1]),
            ])),
        ),
    ];
    assert_all_match(&cases);
}

#[test]
fn public_keys_of_other_types_match_in_certificates() {
    let w = Workshop::new();
    let mut failures = Vec::new();
    let kinds: [(&str, &[&str]); 7] = [
        (
            "brainpool",
            &[
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:brainpoolP384r1",
            ],
        ),
        (
            "k256",
            &[
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:secp256k1",
            ],
        ),
        (
            "sect",
            &[
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:sect233k1",
            ],
        ),
        ("x25519", &["-algorithm", "X25519"]),
        ("x448", &["-algorithm", "X448"]),
        (
            "pss",
            &[
                "-algorithm",
                "RSA-PSS",
                "-pkeyopt",
                "rsa_pss_keygen_md:sha512",
                "-pkeyopt",
                "rsa_pss_keygen_mgf1_md:sha256",
            ],
        ),
        ("dsa", &["-paramfile", "dsa.param"]),
    ];
    w.run(&[
        "genpkey",
        "-genparam",
        "-algorithm",
        "DSA",
        "-pkeyopt",
        "dsa_paramgen_bits:1024",
        "-out",
        "dsa.param",
    ]);
    for (name, algorithm) in kinds {
        let key = format!("{name}.key");
        let mut args = vec!["genpkey"];
        args.extend_from_slice(algorithm);
        args.extend_from_slice(&["-out", &key]);
        w.run(&args);
        let spki = openssl(&["pkey", "-pubout", "-outform", "DER"], &w.read(&key));
        let der = build::certificate(&build::CertSpec {
            spki: spki.clone(),
            ..build::CertSpec::default()
        });
        if let Err(report) = compare_certificate(&der) {
            failures.push(format!("{name}: {report}"));
        }
        if name == "dsa" || name == "pss" {
            if let Err(report) = compare_key(&w, &key) {
                failures.push(report);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
