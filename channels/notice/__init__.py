"""Printed notices (张贴公告, 政府信息查阅点): a print-ready A4 PDF per item, put in a
folder per notice board or reading room and, where one is configured, sent to a CUPS
print queue; a weekly bundle per reading room on request."""
