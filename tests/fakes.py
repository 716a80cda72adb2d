"""Stand-ins for outside services, shared by the test packages."""

from __future__ import annotations


class FakeKms:
    """Stands in for a boto3 KMS client: Encrypt/Decrypt with an encryption context."""

    def __init__(self) -> None:
        self.blobs: dict[bytes, tuple[bytes, dict]] = {}
        self.calls: list[str] = []

    def encrypt(self, KeyId: str, Plaintext: bytes, EncryptionContext: dict) -> dict:
        self.calls.append("encrypt")
        blob = f"blob-{len(self.blobs)}".encode()
        self.blobs[blob] = (Plaintext, dict(EncryptionContext), KeyId)
        return {"CiphertextBlob": blob, "KeyId": KeyId}

    def decrypt(self, CiphertextBlob: bytes, EncryptionContext: dict, KeyId: str) -> dict:
        self.calls.append("decrypt")
        plaintext, context, key_id = self.blobs[CiphertextBlob]
        if context != EncryptionContext or key_id != KeyId:
            raise RuntimeError("InvalidCiphertextException")
        return {"Plaintext": plaintext, "KeyId": KeyId}
