# a configuration with an error: file:line:col: message, exit 2
smexop scan -c @CASES@/relayed.eml --dns-zone @DATA@/../../etc/demo.zone --now 1735725600 --ip 127.0.0.1 @DATA@/../../samples/clean.eml
exit 2
