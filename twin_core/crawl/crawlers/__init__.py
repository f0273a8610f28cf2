"""The crawlers: each is a ``Crawler`` registered in ``conf/crawl`` by its ``_target_``."""
