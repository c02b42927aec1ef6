"""What the provider documents, as data and the code that reads it.

``spec/`` holds each endpoint's tables as the provider's pages write them; ``tables`` reads them,
``schemagen`` turns them into the JSON Schemas under ``schemas/``, ``schemas`` compiles those,
``signing`` and ``diagnosis`` are the reference signer and what explains a wrong sign, ``rules``
is the finding catalogue, and ``endpoints`` says which endpoint a request is for and what it must carry.
Nothing here imports a door (captures, pytest, the server) or the judge.
"""
