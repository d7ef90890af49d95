# DMARC fail under p=quarantine: quarantined, CAT:SPOOF; --json
smexop scan -c @CASES@/scan.yaml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --json --ip 127.0.0.23 --helo laptop.attacker.example --mail-from invoices@billing.example --rcpt bob@example.com @DATA@/../../samples/dmarc-quarantine.eml
