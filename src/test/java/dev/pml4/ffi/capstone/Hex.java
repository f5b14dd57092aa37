package dev.pml4.ffi.capstone;

import java.util.HexFormat;

/** Test bytes written as hex ("0f 22 d8" or "0f22d8"), as objdump prints them. */
final class Hex {
    private Hex() {}

    static byte[] bytes(String hex) {
        return HexFormat.of().parseHex(hex.replace(" ", ""));
    }
}
