# two DKIM signatures (RSA and Ed25519) and SPF pass for example.com (p=reject): DMARC pass, reason=100; --json
smexop auth --ip 192.0.2.1 --helo mx1.example.com --mail-from alice@example.com --json --dns-zone @DATA@/auth/auth.zone --now 1790000100 --authserv-id mx.test.example @CASES@/example-signed.eml
