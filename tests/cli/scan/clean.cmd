# the demo's clean newsletter: SPF, DKIM and DMARC pass, delivered
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --ip 127.0.0.1 --helo mail.partner.example --mail-from news@partner.example --rcpt alice@example.com @DATA@/../../samples/clean.eml
