"""The feed channel: RSS 2.0 and Atom 1.0 for feed readers, aggregators and portals."""
