/// The README written into a built emoji data set: what it holds, how it was made, and the sources' licences.
enum EmojiDatasetReadme {
    static func text(summary: EmojiDatasetSummary, options: EmojiDatasetOptions) -> String {
        let folder = options.output
        func relative(_ pattern: String) -> String { pattern.hasPrefix(folder + "/") ? String(pattern.dropFirst(folder.count + 1)) : pattern }
        return """
        # Emoji image-caption data set

        Built by `swiftclip data emoji` from the Noto Color Emoji font's bitmaps and Unicode's emoji list:
        \(summary.trainCount) training and \(summary.valCount) validation samples (split by a hash of the name, validation fraction \
        \(options.valFraction)), \(options.imageSize)x\(options.imageSize) RGB PNG, \(summary.groups.count) groups, \
        \(summary.subgroups.count) subgroups\(summary.undrawable.isEmpty ? "" : "; \(summary.undrawable.count) listed emoji the font cannot draw are left out").

        - `\(relative(summary.trainPattern))`, `\(relative(summary.valPattern))`: WebDataset shards; each sample has `.png` (the emoji
          composited on white, centred on a square and downscaled by area averaging), `.txt` (its CLDR short name in lower case,
          e.g. "grinning face with big eyes"), `.cls` (its group's line index in `classes.txt`) and `.json` (name, emoji,
          code points, group, subgroup, their indices, Emoji version, CLDR keywords, and the captions: the name, then the
          keywords joined by commas when CLDR has any)\(options.speech ? speechNote : "").
        - `classes.txt`: the groups (Unicode's, without "Component"); `subgroups.txt`: the subgroups.
        - `zeroshot-groups/`, `zeroshot-subgroups/`: the validation images as zero-shot folders (`swiftclip eval --zeroshot-data`,
          `swiftclip train --zeroshot-data`), classes named by group or subgroup, prompt template `{}`.\(pairs(summary, options, relative))\(avPairs(summary, options, relative))

        ## Sources and licences

        - Images: Noto Color Emoji (`\(options.fontPath)`, Debian package `fonts-noto-color-emoji`), Google's emoji
          font. The font is under the SIL Open Font License 1.1; the emoji images in the Noto Emoji project are under the
          Apache License 2.0 (https://github.com/googlefonts/noto-emoji). Flag images are in the public domain.
        - Names, groups and subgroups: Unicode's `emoji-test.txt` (`\(options.emojiTestPath)`, Debian package `unicode-data`).
        - Keywords: \(options.cldrDirectory.map { "CLDR English annotations (`\($0)/annotations/en.xml`, `annotationsDerived/en.xml`, Debian package `unicode-cldr-core`)." } ?? "none (built without CLDR).")
        - Unicode data and CLDR are under the Unicode License v3 (Unicode, Inc., https://www.unicode.org/license.txt): free
          use, copying and redistribution with the copyright notice.

        """
    }

    static let speechNote = """
        , and `.wav`: the name spoken by espeak-ng (16 kHz mono 16-bit; voice, variant, speed 120-200 words per minute, \
        pitch 25-75 and a low Gaussian noise level chosen from the sample's key; `EmojiSpeech`)
        """

    static let pairSpeechNote = "; `.wav` the name spoken, as the name emoji's own sample has it"

    static func pairs(_ summary: EmojiDatasetSummary, _ options: EmojiDatasetOptions, _ relative: (String) -> String) -> String {
        guard options.pairs else { return "" }
        return """

        - `\(relative(summary.pairsTrainPattern))` (\(summary.pairsTrainCount) samples), `\(relative(summary.pairsValPattern))` \
        (\(summary.pairsValCount)): image-name pairs within each split (seed \(options.pairsSeed)); `.png` is one emoji's image, `.txt` \
        the name of the same emoji, of another of its subgroup, of another subgroup of its group or of another group, drawn \
        uniformly, and `.cls` that relation (`pairs-classes.txt`); `.json` holds both emoji's metadata\(options.speech ? pairSpeechNote : ""). Each emoji is the \
        image of one pair per relation, so the image alone says nothing about the label and the name alone little (only \
        through the groups' sizes).
        """
    }

    static func avPairs(_ summary: EmojiDatasetSummary, _ options: EmojiDatasetOptions, _ relative: (String) -> String) -> String {
        guard options.avPairs else { return "" }
        return """

        - `\(relative(summary.avTrainPattern))` (\(summary.avTrainCount) samples), `\(relative(summary.avValPattern))` \
        (\(summary.avValCount)): audio-visual pairs over a closed set of \(EmojiAVPairs.groups * EmojiAVPairs.subgroupsPerGroup * EmojiAVPairs.emojiPerSubgroup) \
        emoji (the first \(EmojiAVPairs.groups) groups with \(EmojiAVPairs.subgroupsPerGroup) subgroups of \(EmojiAVPairs.emojiPerSubgroup) emoji \
        without a qualifier in the name; seed \(options.pairsSeed)). `.png` is one emoji's image, `.wav` a name spoken, labelled \
        in `.cls` by the relation of the two emoji as in the pairs above (`pairs-classes.txt`); `.txt` is the spoken name \
        and `.json` both emoji's metadata, the voice and the round. Each of \(options.avRenditions) training rounds \
        (\(options.avValRenditions) validation rounds) speaks every name once and pairs every image once per relation. \
        Validation voices use the variants \(EmojiSpeech.heldOutVariants.joined(separator: ", ")), which training never hears.
        """
    }
}
