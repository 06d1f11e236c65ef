"""Archive and library exports (档案馆、公共图书馆报送).

Each receiver is one channel instance of kind ``archive``. Items disclosed in a
period (a month by default) and the retractions of that period go to the receiver
as one BagIt package: ``data/<索引号>/`` with the page as published, its
attachments and a DA/T 48 metadata file; SHA-256, SHA-512 and SM3 manifests.

    periods.py     which period an item belongs to (Asia/Shanghai)
    options.py     receiver options, validated at start-up
    tables.py      the packages made and their members
    ledger.py      freezing a package's members, recording what happened to it
    page.py        the page HTML and the payload files of one item
    eep.py         the DA/T 48 metadata (and eep.xsd, its schema)
    bag.py         the BagIt bag, written straight into a tar or zip file
    build.py       members → package file
    transports.py  directory drop, HTTP upload, SFTP
    verify.py      ``govpub archive verify``: what an archive checks at receipt
    channel.py     the channel: batches, periods, answers per delivery
    cli.py         ``govpub archive list | export | verify``
"""
