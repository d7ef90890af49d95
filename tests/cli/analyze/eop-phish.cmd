# hand-made EOP phishing verdict: SCL 9, SFV:SPM, CAT:PHSH, SFTY:9.19, BCL 8, compauth=fail reason=000, dmarc action=oreject, X-CustomSpam
smexop analyze @DATA@/analyze/eop-phish.eml
