package dev.pml4.cli;

public final class Main {
    public static void main(String[] args) {
        System.out.println("pml4");
    }
}
